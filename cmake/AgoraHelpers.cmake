# agora_cc_library(NAME name SRCS ... DEPS ...): a static library with the
# alias agora::NAME; include/ (the public headers) and the repository root
# are its public include paths.
function(agora_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${A_NAME} STATIC ${A_SRCS})
  add_library(agora::${A_NAME} ALIAS ${A_NAME})
  target_include_directories(${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS})
endfunction()

# agora_cc_binary(NAME name SRCS ... DEPS ... [COMPONENT c]): an installed
# executable, in the install component (Debian package) `c`, by default agora.
function(agora_cc_binary)
  cmake_parse_arguments(A "" "NAME;COMPONENT" "SRCS;DEPS" ${ARGN})
  if(NOT A_COMPONENT)
    set(A_COMPONENT agora)
  endif()
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  # Every binary lands in build/bin so the agent finds agora-executor beside it.
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  install(TARGETS ${A_NAME} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${A_COMPONENT})
endfunction()

# agora_cc_test(NAME name SRCS ... DEPS ... [LABELS ...] [COST n]): a GoogleTest
# binary whose tests CTest lists one by one. A high COST makes a parallel ctest
# start the (slow) tests first, so they do not run alone at the end.
function(agora_cc_test)
  cmake_parse_arguments(A "" "NAME;COST" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest_main GTest::gmock)
  target_compile_definitions(${A_NAME} PRIVATE AGORA_BIN_DIR="${PROJECT_BINARY_DIR}/bin"
                                                AGORA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(labels unit)
  if(A_LABELS)
    set(labels ${A_LABELS})
  endif()
  set(cost)
  if(A_COST)
    set(cost COST ${A_COST})
  endif()
  gtest_discover_tests(${A_NAME} PROPERTIES LABELS "${labels}" ${cost} DISCOVERY_TIMEOUT 30)
endfunction()

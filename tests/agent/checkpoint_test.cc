#include "agent/checkpoint.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora::agent {
namespace {
namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agora-checkpoint-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static TaskCheckpoint Task(const std::string& id, TaskState state) {
    TaskCheckpoint t;
    t.framework_id = "f-1";
    t.spec.task_id = id;
    t.spec.command = "sleep 1";
    t.spec.resources = Resources::Scalars(0.5, 64, 0);
    t.state = state;
    t.executor_id = "e-1";
    t.sandbox = "/sandbox/" + id;
    t.env = {{"K", "V"}};
    TaskStatus pending;
    pending.task_id = id;
    pending.uuid = "u-" + id;
    pending.state = state;
    t.pending.push_back(pending);
    return t;
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, WhatWasSavedAndNotRemovedComesBack) {
  {
    Checkpointer c(dir_.string());
    c.Load();
    c.SaveExecutor({"f-1", "e-1", 1234});
    c.SaveExecutor({"f-1", "e-2", 99});
    ASSERT_TRUE(c.SaveTask(Task("t1", TaskState::kStaging)).ok());
    ASSERT_TRUE(c.SaveTask(Task("t1", TaskState::kRunning)).ok());  // the later put wins
    ASSERT_TRUE(c.SaveTask(Task("t2", TaskState::kRunning)).ok());
    c.RemoveTask("f-1", "t2");
    c.RemoveExecutor("e-2");
  }
  Checkpointer c(dir_.string());
  Checkpoints loaded = c.Load();
  ASSERT_EQ(loaded.executors.size(), 1u);
  EXPECT_EQ(loaded.executors[0].executor_id, "e-1");
  EXPECT_EQ(loaded.executors[0].pid, 1234);
  ASSERT_EQ(loaded.tasks.size(), 1u);
  const TaskCheckpoint& t = loaded.tasks[0];
  EXPECT_EQ(t.spec.task_id, "t1");
  EXPECT_EQ(t.state, TaskState::kRunning);
  EXPECT_EQ(t.sandbox, "/sandbox/t1");
  EXPECT_EQ(t.spec.resources, Resources::Scalars(0.5, 64, 0));
  ASSERT_EQ(t.pending.size(), 1u);
  EXPECT_EQ(t.pending[0].uuid, "u-t1");
  EXPECT_EQ(t.env, (Env{{"K", "V"}}));
}

TEST_F(CheckpointTest, ATornLastRecordIsIgnored) {
  {
    Checkpointer c(dir_.string());
    c.Load();
    ASSERT_TRUE(c.SaveTask(Task("t1", TaskState::kRunning)).ok());
    ASSERT_TRUE(c.SaveTask(Task("t2", TaskState::kRunning)).ok());
  }
  // Cut the journal in the middle of its last record.
  const fs::path journal = dir_ / "journal";
  fs::resize_file(journal, fs::file_size(journal) - 20);
  Checkpointer c(dir_.string());
  Checkpoints loaded = c.Load();
  ASSERT_EQ(loaded.tasks.size(), 1u);
  EXPECT_EQ(loaded.tasks[0].spec.task_id, "t1");
  // Writing goes on after the torn record was dropped.
  ASSERT_TRUE(c.SaveTask(Task("t3", TaskState::kRunning)).ok());
  Checkpointer again(dir_.string());
  EXPECT_EQ(again.Load().tasks.size(), 2u);
}

TEST_F(CheckpointTest, TheJournalIsCompactedWhenMostRecordsAreDead) {
  Checkpointer c(dir_.string());
  c.Load();
  ASSERT_TRUE(c.SaveTask(Task("keep", TaskState::kRunning)).ok());
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(c.SaveTask(Task("churn", TaskState::kRunning)).ok());
    c.RemoveTask("f-1", "churn");
  }
  EXPECT_LT(c.journal_records(), 1500u);
  EXPECT_LT(fs::file_size(dir_ / "journal"), 2'000'000u);
  Checkpointer again(dir_.string());
  Checkpoints loaded = again.Load();
  ASSERT_EQ(loaded.tasks.size(), 1u);
  EXPECT_EQ(loaded.tasks[0].spec.task_id, "keep");
}

TEST_F(CheckpointTest, ExitRecordsKeepTheLastRecordPerTaskAndSkipTornLines) {
  fs::create_directories(dir_);
  AppendExitRecord(dir_.string(), "t1", {TaskState::kFailed, 7, "exited with status 7", "exit_status"});
  AppendExitRecord(dir_.string(), "t2", {TaskState::kFinished, 0, "tab\there\nnewline", ""});
  std::ofstream(dir_ / "exits", std::ios::app) << "t3\t4";  // torn
  auto records = ReadExitRecords(dir_.string());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records["t1"].state, TaskState::kFailed);
  EXPECT_EQ(records["t1"].exit_code, 7);
  EXPECT_EQ(records["t1"].reason, "exit_status");
  EXPECT_EQ(records["t2"].message, "tab here newline");
  EXPECT_TRUE(ReadExitRecords((dir_ / "none").string()).empty());
}

}  // namespace
}  // namespace agora::agent

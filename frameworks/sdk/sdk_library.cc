// libagora-sdk.so: sdk_driver and types, whole, behind the interface sdk.map
// exports.

# Host capabilities (issue 6): the app's key store and HTTP transport.
error-key-store = The phone's secure key storage could not be used. Your data was not changed. Try again, or restart the app.
error-key-missing = The key for the data on this device is gone from the phone's secure storage, so that data cannot be opened. Restore your account with your recovery phrase.
error-no-http-transport = The app is not ready to connect to the server yet. Your changes are kept on this device.
error-passcode-wrong = That passcode is not right. You can try again in { $detail } seconds.
error-passcode-too-soon = Please wait { $detail } more seconds before trying the passcode again.
error-passcode-required = This journal is protected by a passcode. Enter it to open the journal.

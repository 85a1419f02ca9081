# Host capabilities (issue 6): the app's key store and HTTP transport.
error-key-store = The phone's secure key storage could not be used. Your data was not changed. Try again, or restart the app.
error-key-missing = The key for the data on this device is gone from the phone's secure storage, so that data cannot be opened. Restore your account with your recovery phrase.
error-no-http-transport = The app is not ready to connect to the server yet. Your changes are kept on this device.
error-passcode-wrong = That passcode is not right. You can try again in { $detail } seconds.
error-passcode-too-soon = Please wait { $detail } more seconds before trying the passcode again.
error-passcode-required = This journal is protected by a passcode. Enter it to open the journal.
# Wake-ups (issue 16, item 4): why the server did not take this phone's registration for them.
error-push-sync-first = Sync with the server once before turning on notifications for new updates.
error-push-endpoint-taken = The phone's notification service gave an address that is already in use. Turn notifications off and on again.
error-push-relay-busy = The server cannot take more phones for notifications right now. Syncing still works; try again later.
error-push-not-served = This server does not send notifications for new updates. Syncing still works as before.
error-push-malformed = The server could not use the phone's notification settings. Turn notifications off and on again.

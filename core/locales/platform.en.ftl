# Host capabilities (issue 6): the app's key store and HTTP transport.
error-key-store = The phone's secure key storage could not be used. Your data was not changed. Try again, or restart the app.
error-key-missing = The key for the data on this device is gone from the phone's secure storage, so that data cannot be opened. Restore your account with your recovery phrase.
error-no-http-transport = The app is not ready to connect to the server yet. Your changes are kept on this device.

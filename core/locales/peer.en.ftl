# Peer-to-peer sync (sync nearby).
error-peer-not-member = This device is not in any group, pairing or journal you share. Nothing was exchanged with it.
error-bad-peer-message = The connection to the nearby device was interrupted or altered. Nothing damaged was saved; try again.

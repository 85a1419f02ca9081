# Kemampuan dari platform (isu 6): penyimpanan kunci aplikasi dan transport HTTP.
error-key-store = Penyimpanan kunci aman di ponsel tidak dapat digunakan. Data Anda tidak diubah. Coba lagi, atau mulai ulang aplikasi.
error-key-missing = Kunci untuk data di perangkat ini sudah hilang dari penyimpanan aman ponsel, sehingga data itu tidak dapat dibuka. Pulihkan akun Anda dengan frasa pemulihan.
error-no-http-transport = Aplikasi belum siap terhubung ke server. Perubahan Anda tetap tersimpan di perangkat ini.
error-passcode-wrong = Kode sandi itu salah. Anda bisa mencoba lagi dalam { $detail } detik.
error-passcode-too-soon = Tunggu { $detail } detik lagi sebelum mencoba kode sandi lagi.
error-passcode-required = Jurnal ini dilindungi kode sandi. Masukkan kode sandi untuk membukanya.
# Bangun-otomatis (isu 16, butir 4): mengapa server tidak menerima pendaftaran ponsel ini.
error-push-sync-first = Sinkronkan dengan server sekali sebelum menyalakan pemberitahuan pembaruan baru.
error-push-endpoint-taken = Layanan pemberitahuan ponsel memberi alamat yang sudah dipakai. Matikan lalu nyalakan lagi pemberitahuan.
error-push-relay-busy = Server belum dapat menerima ponsel lain untuk pemberitahuan saat ini. Sinkronisasi tetap berjalan; coba lagi nanti.
error-push-not-served = Server ini tidak mengirim pemberitahuan pembaruan baru. Sinkronisasi tetap berjalan seperti biasa.
error-push-malformed = Server tidak dapat memakai pengaturan pemberitahuan ponsel. Matikan lalu nyalakan lagi pemberitahuan.

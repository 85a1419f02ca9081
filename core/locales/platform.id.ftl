# Kemampuan dari platform (isu 6): penyimpanan kunci aplikasi dan transport HTTP.
error-key-store = Penyimpanan kunci aman di ponsel tidak dapat digunakan. Data Anda tidak diubah. Coba lagi, atau mulai ulang aplikasi.
error-key-missing = Kunci untuk data di perangkat ini sudah hilang dari penyimpanan aman ponsel, sehingga data itu tidak dapat dibuka. Pulihkan akun Anda dengan frasa pemulihan.
error-no-http-transport = Aplikasi belum siap terhubung ke server. Perubahan Anda tetap tersimpan di perangkat ini.
error-passcode-wrong = Kode sandi itu salah. Anda bisa mencoba lagi dalam { $detail } detik.
error-passcode-too-soon = Tunggu { $detail } detik lagi sebelum mencoba kode sandi lagi.
error-passcode-required = Jurnal ini dilindungi kode sandi. Masukkan kode sandi untuk membukanya.

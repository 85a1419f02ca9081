# training messages (id). Keys must exist in both languages: i18n tests check it.
training-module-pfa = Pertolongan pertama psikologis
training-module-active-listening = Mendengarkan secara aktif
training-module-boundaries = Batasan dan kerahasiaan
training-module-risk-referral = Mengenali risiko dan merujuk
training-module-self-care = Merawat diri
training-status-current = Berlaku
training-status-expired = Kedaluwarsa
training-status-withdrawn = Dicabut: koordinator yang mengesahkannya tidak lagi menjaminnya
training-status-missing = Belum disahkan
training-required-for-pairing = Pendampingan satu-satu baru dapat dibuka setelah koordinator mengesahkan semua modul wajib dan tidak ada yang kedaluwarsa.
training-certified-by-programme = Disahkan oleh program
training-certified-by-coordinator = Disahkan oleh koordinator
training-successor-not-certified = Orang yang akan melanjutkan belum tersertifikasi. Yang belum ada atau sudah kedaluwarsa: { $detail }.
training-handed-over = Anda sudah menyerahkan ruang ini. Mulai sekarang Anda tidak akan menerima apa pun yang ditulis di sini.

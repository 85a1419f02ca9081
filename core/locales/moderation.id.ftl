# reports and blocks (id; issue 18, item 2). Keys must exist in both languages: i18n tests check it.
report-reason-harassment = Melecehkan atau merundung seseorang
report-reason-hateful = Kebencian terhadap jati diri seseorang
report-reason-unsafe-advice = Saran yang bisa membahayakan seseorang
report-reason-private-information = Menyebarkan informasi pribadi seseorang
report-reason-worried-about-them = Saya khawatir dengan orang ini
report-reason-other = Hal lain
report-reason-blocked = Seorang anggota diblokir
report-sent = Laporanmu sudah dikirim ke koordinator program. Orang yang kamu laporkan tidak akan melihat namamu.
report-about-facilitator = Laporan tentang fasilitator hanya dikirim ke koordinator. Tentang pendampingmu atau koordinator, hubungi koordinatormu dengan cara lain.
block-done = Kamu tidak akan lagi melihat catatan dan pesan anggota ini. Fasilitator diberi tahu bahwa seorang anggota diblokir, tanpa tahu oleh siapa.
block-coordinator-refused = Pesan koordinator tidak pernah disembunyikan.

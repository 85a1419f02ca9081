# Sinkronisasi langsung antarperangkat (sinkronkan di dekat sini).
error-peer-not-member = Perangkat ini tidak ada dalam grup, pendampingan, atau jurnal yang kamu bagikan. Tidak ada yang dipertukarkan dengannya.
error-bad-peer-message = Sambungan ke perangkat di dekatmu terputus atau diubah. Tidak ada yang rusak yang disimpan; coba lagi.

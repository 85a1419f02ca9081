# safety messages (id). Keys must exist in both languages: i18n tests check it.
# Kata-kata kami sendiri untuk bagian-bagian rencana keselamatan (tidak diambil dari templat terbitan).
safety-step-warning-signs-title = Tanda masa sulit mulai datang
safety-step-warning-signs-prompt = Apa yang kamu perhatikan pada pikiran, perasaan, atau tindakanmu ketika semuanya mulai terasa terlalu berat?
safety-step-coping-alone-title = Yang bisa kulakukan sendiri
safety-step-coping-alone-prompt = Hal-hal kecil yang bisa kamu lakukan sendiri untuk melewati saat itu.
safety-step-distractions-title = Orang dan tempat yang membantuku mengalihkan pikiran
safety-step-distractions-prompt = Dengan siapa kamu bisa bersama, atau ke mana kamu bisa pergi, untuk memikirkan hal lain sejenak?
safety-step-help-people-title = Orang yang bisa kumintai tolong
safety-step-help-people-prompt = Kepada siapa kamu bisa bercerita dan meminta bantuan? Catat cara menghubungi mereka.
safety-step-professionals-title = Bantuan profesional dan layanan krisis
safety-step-professionals-prompt = Konselor, petugas kesehatan, dan layanan krisis yang bisa kamu hubungi; programmu mencantumkan yang terdekat denganmu.
safety-step-safer-surroundings-title = Membuat sekitarku lebih aman
safety-step-safer-surroundings-prompt = Apa yang bisa kamu simpan, titipkan kepada orang lain, atau jauhi selama masa sulit?
safety-step-what-matters-title = Yang paling berarti bagiku
safety-step-what-matters-prompt = Orang, harapan, dan alasan yang membuatmu terus bertahan.
safety-summary-heading = Rencana keselamatanku
safety-summary-empty = (belum ada yang ditulis)

//! The deterministic journal operation stream of `shared/design/workloads.md` (section 1), so that
//! Sebaya's numbers compare with the anchors' numbers measured on the same stream.

/// mulberry32, exactly as the workload specification defines it.
pub struct Mulberry32 {
    a: u32,
}

impl Mulberry32 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u32) -> Self {
        Mulberry32 { a: seed }
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        self.a = self.a.wrapping_add(0x6D2B_79F5);
        let mut t = self.a;
        t = (t ^ (t >> 15)).wrapping_mul(1 | t);
        t = (t.wrapping_add((t ^ (t >> 7)).wrapping_mul(61 | t))) ^ t;
        t ^ (t >> 14)
    }

    /// Uniform-ish integer below `n` (`next() % n`, as specified).
    pub fn int(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

/// The tag vocabulary of the workload.
pub const TAGS: [&str; 12] = [
    "work", "family", "health", "travel", "food", "sleep", "money", "friends", "reading", "music",
    "sport", "mood",
];

/// One operation of the stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A new journal entry.
    New {
        /// 16 lowercase hex characters.
        id: String,
        /// About 200 characters of prose.
        text: String,
        /// 1 to 5.
        mood: i64,
        /// Two tags.
        tags: [String; 2],
        /// Milliseconds since the Unix epoch.
        created: i64,
    },
    /// Replace the text of an existing entry.
    Edit {
        /// The entry.
        id: String,
        /// Its new text.
        text: String,
    },
}

impl Op {
    /// Commit timestamp in seconds, as the specification defines it.
    pub fn commit_time(&self, i: usize) -> i64 {
        match self {
            Op::New { created, .. } => created / 1000,
            Op::Edit { .. } => (1_767_225_600_000 + i as i64 * 180_000) / 1000,
        }
    }
}

const VOCAB: [&str; 120] = [
    "the", "day", "felt", "long", "and", "quiet", "i", "walked", "to", "school", "with", "my",
    "friend", "we", "talked", "about", "music", "family", "worries", "hope", "tomorrow", "morning",
    "evening", "tired", "happy", "sad", "calm", "anxious", "grateful", "slept", "badly", "well",
    "ate", "rice", "tea", "coffee", "rain", "sun", "market", "bus", "phone", "message", "mother",
    "father", "sister", "brother", "teacher", "exam", "homework", "work", "money", "rent", "plan",
    "small", "big", "step", "breath", "listened", "laughed", "cried", "wrote", "read", "book",
    "song", "prayer", "mosque", "church", "garden", "river", "city", "village", "friends", "group",
    "meeting", "support", "helped", "asked", "for", "help", "pelan", "better", "worse", "again",
    "still", "maybe", "later", "today", "lately", "week", "month", "café", "naïve", "señor",
    "über", "déjà", "vu", "résumé", "fiancé", "jalan", "rumah", "sekolah", "teman", "ibu", "bapak",
    "makan", "minum", "tidur", "senang", "sedih", "capek", "semangat", "doa", "hujan", "panas",
    "pagi", "malam", "besok", "kemarin", "sore", "siang",
];

/// The word list used by `genText`. The specification fixes its size (120) and that some words carry
/// accents; the published fingerprint pins the exact list, which [`fingerprint`] checks.
pub fn vocab() -> &'static [&'static str; 120] {
    &VOCAB
}

fn hex8(x: u32) -> String {
    format!("{x:08x}")
}

fn gen_text(r: &mut Mulberry32) -> String {
    let target = 180 + r.int(41) as usize;
    let mut slen = 6 + r.int(9) as usize;
    let mut out = String::new();
    let mut len = 0usize;
    let mut in_sentence = 0usize;
    loop {
        let w = VOCAB[r.int(120) as usize];
        let first = in_sentence == 0;
        if !out.is_empty() {
            out.push(' ');
            len += 1;
        }
        if first {
            let mut chars = w.chars();
            if let Some(c) = chars.next() {
                if c.is_ascii_lowercase() {
                    out.push(c.to_ascii_uppercase());
                    out.push_str(chars.as_str());
                } else {
                    out.push_str(w);
                }
            }
        } else {
            out.push_str(w);
        }
        len += w.chars().count();
        in_sentence += 1;
        if len >= target {
            out.push('.');
            break;
        } else if in_sentence == slen {
            out.push('.');
            len += 1;
            in_sentence = 0;
            slen = 6 + r.int(9) as usize;
        }
    }
    out
}

/// `ops(seed, n)`: the first `n` operations of the stream for `seed`.
pub fn ops(seed: u32, n: usize) -> Vec<Op> {
    let mut r = Mulberry32::new(seed);
    let mut ids: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let is_edit = matches!(i % 10, 3 | 6 | 9) && !ids.is_empty();
        if is_edit {
            let id = ids[r.int(ids.len() as u32) as usize].clone();
            let text = gen_text(&mut r);
            out.push(Op::Edit { id, text });
        } else {
            let id = format!("{}{}", hex8(r.next_u32()), hex8(r.next_u32()));
            let text = gen_text(&mut r);
            let mood = 1 + r.int(5) as i64;
            let t1 = r.int(12) as usize;
            let t2 = (t1 + 1 + r.int(11) as usize) % 12;
            let created = 1_767_225_600_000 + i as i64 * 180_000 + r.int(60_000) as i64;
            ids.push(id.clone());
            out.push(Op::New {
                id,
                text,
                mood,
                tags: [TAGS[t1].to_string(), TAGS[t2].to_string()],
                created,
            });
        }
    }
    out
}

/// FNV-1a 64 over the specification's one-line-per-op rendering, as lowercase hex.
pub fn fingerprint(ops: &[Op]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.as_bytes() {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for op in ops {
        match op {
            Op::New {
                id,
                text,
                mood,
                tags,
                created,
            } => feed(&format!(
                "N|{id}|{text}|{mood}|{}|{}|{created}\n",
                tags[0], tags[1]
            )),
            Op::Edit { id, text } => feed(&format!("E|{id}|{text}\n")),
        }
    }
    format!("{h:016x}")
}

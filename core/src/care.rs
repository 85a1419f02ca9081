//! Care records (issue 4): enrolment in a programme, consents, referrals. Being written.

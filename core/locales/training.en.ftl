# training messages (en). Keys must exist in both languages: i18n tests check it.
training-module-pfa = Psychological first aid
training-module-active-listening = Active listening
training-module-boundaries = Boundaries and confidentiality
training-module-risk-referral = Recognising risk and referring
training-module-self-care = Self-care
training-status-current = Current
training-status-expired = Expired
training-status-withdrawn = Withdrawn: the coordinator who certified it no longer vouches for it
training-status-missing = Not yet certified
training-required-for-pairing = One-to-one accompaniment opens only once a coordinator has certified every required module and none has expired.
training-certified-by-programme = Certified by the programme
training-certified-by-coordinator = Certified by a coordinator
training-successor-not-certified = The person taking over is not certified yet. Missing or expired: { $detail }.
training-handed-over = You handed this space over. You will not receive anything written in it from now on.

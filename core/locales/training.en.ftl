# training messages (en). Keys must exist in both languages: i18n tests check it.

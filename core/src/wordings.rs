//! Instrument item wordings as data (issue 4). Being written.

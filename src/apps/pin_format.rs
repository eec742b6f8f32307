//! The PINs an application accepts when a person sets one through it: 4 to 12 digits, a passphrase of 8 to 128
//! characters, or either (the default). The format is a rule for setting a PIN; an account has one PIN, and
//! every application checks that PIN as it is.

use std::ops::RangeInclusive;

/// How many digits a numeric PIN has.
const PIN_DIGITS: RangeInclusive<usize> = 4..=12;
/// How long a passphrase used as a PIN is, in characters.
const PASSPHRASE_CHARS: RangeInclusive<usize> = 8..=128;

/// The PINs an application accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PinFormat {
    /// Digits or a passphrase.
    #[default]
    Any,
    /// 4 to 12 digits.
    Digits,
    /// 8 to 128 characters, not only blanks.
    Passphrase,
}

impl PinFormat {
    pub const NAMES: &'static str = "any, digits, passphrase";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Digits => "digits",
            Self::Passphrase => "passphrase",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Any, Self::Digits, Self::Passphrase]
            .into_iter()
            .find(|f| f.as_str() == text)
    }

    /// What is wrong with `pin` as a new PIN in this format, if anything.
    pub fn problem(self, pin: &str) -> Option<&'static str> {
        let length = pin.chars().count();
        let digits = pin.bytes().all(|b| b.is_ascii_digit()) && PIN_DIGITS.contains(&length);
        let passphrase = PASSPHRASE_CHARS.contains(&length) && !pin.trim().is_empty();
        match self {
            Self::Any if digits || (passphrase && !pin.bytes().all(|b| b.is_ascii_digit())) => None,
            Self::Any => Some("a PIN is 4 to 12 digits, or a passphrase of 8 to 128 characters"),
            Self::Digits if digits => None,
            Self::Digits => Some("a PIN is 4 to 12 digits here"),
            Self::Passphrase if passphrase => None,
            Self::Passphrase => Some("a PIN is a passphrase of 8 to 128 characters here"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_takes_its_pins() {
        for good in ["1234", "123456789012", "correct horse", "pässwörd"] {
            assert_eq!(PinFormat::Any.problem(good), None, "{good}");
        }
        for bad in ["123", "1234567890123", "short", "        ", ""] {
            assert!(PinFormat::Any.problem(bad).is_some(), "{bad}");
        }
        assert_eq!(PinFormat::Digits.problem("4711"), None);
        assert!(PinFormat::Digits.problem("correct horse").is_some());
        assert_eq!(PinFormat::Passphrase.problem("correct horse"), None);
        assert_eq!(
            PinFormat::Passphrase.problem("12345678"),
            None,
            "eight digits are eight characters"
        );
        assert!(PinFormat::Passphrase.problem("4711").is_some());
        assert_eq!(PinFormat::parse("digits"), Some(PinFormat::Digits));
        assert_eq!(PinFormat::parse("DIGITS"), None);
    }
}

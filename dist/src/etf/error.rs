//! What can go wrong encoding and decoding ETF.

use std::fmt;

/// Why bytes did not decode, and where.
///
/// ```
/// use bream_dist::{decode, DecodeErrorKind};
/// let err = decode(&[131, 109, 255, 255, 255, 255, 1, 2]).unwrap_err();
/// assert_eq!(err.offset(), 2);
/// assert!(matches!(err.kind(), DecodeErrorKind::LengthTooLarge { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset into the input where the problem was found.
    offset: usize,
    kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a term.
    UnexpectedEnd,
    /// The first byte was not the version byte 131.
    BadVersion(u8),
    /// A tag byte that is not a term (or not one that may appear here).
    UnknownTag(u8),
    /// A tag bream recognises but does not decode (compressed terms, atom cache
    /// references, old funs, `LOCAL_EXT`).
    Unsupported(&'static str),
    /// A length prefix larger than the bytes that remain could hold.
    LengthTooLarge {
        /// The length the input claimed (elements or bytes).
        claimed: u64,
        /// The bytes that remained.
        remaining: usize,
    },
    /// Nesting deeper than [`DecodeOptions::max_depth`](crate::DecodeOptions).
    TooDeep {
        /// The limit that was hit.
        max_depth: usize,
    },
    /// An atom that is not valid UTF-8 or is longer than 255 characters.
    BadAtom,
    /// A float that is NaN or infinite (Erlang has neither) or unreadable.
    BadFloat,
    /// A field out of its range (e.g. a bit count of 9, a sign byte of 2).
    Invalid(&'static str),
}

impl DecodeError {
    pub(crate) fn new(offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// Byte offset into the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad external term at byte {}: ", self.offset)?;
        match &self.kind {
            DecodeErrorKind::UnexpectedEnd => write!(f, "input ends inside a term"),
            DecodeErrorKind::BadVersion(v) => write!(f, "version byte {v}, expected 131"),
            DecodeErrorKind::UnknownTag(t) => write!(f, "unknown tag {t}"),
            DecodeErrorKind::Unsupported(what) => write!(f, "{what} is not supported"),
            DecodeErrorKind::LengthTooLarge { claimed, remaining } => write!(
                f,
                "length {claimed} cannot fit in the {remaining} bytes that remain"
            ),
            DecodeErrorKind::TooDeep { max_depth } => {
                write!(f, "terms nested deeper than {max_depth}")
            }
            DecodeErrorKind::BadAtom => write!(f, "atom is not valid or too long"),
            DecodeErrorKind::BadFloat => write!(f, "float is not a finite number"),
            DecodeErrorKind::Invalid(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A term that ETF cannot carry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A float that is NaN or infinite: Erlang has neither.
    NonFiniteFloat,
    /// A binary, list, tuple, map or integer too long for its 32-bit length field.
    TooLong(&'static str),
    /// A value out of the range the wire allows (e.g. a reference of 0 or more than
    /// 5 words, a bitstring's `last_bits` outside 1..=7).
    Invalid(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NonFiniteFloat => {
                write!(f, "cannot encode NaN or infinity: Erlang floats are finite")
            }
            EncodeError::TooLong(what) => write!(f, "{what} too long for the external format"),
            EncodeError::Invalid(what) => write!(f, "cannot encode: {what}"),
        }
    }
}

impl std::error::Error for EncodeError {}

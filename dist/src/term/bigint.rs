//! Arbitrary-precision integers, in the shape the wire carries them.
//!
//! Erlang integers have no size limit. ETF sends the ones outside 32 bits as
//! `SMALL_BIG_EXT`/`LARGE_BIG_EXT`: a sign byte and the magnitude as little-endian
//! bytes. [`BigInt`] stores exactly that (sign + little-endian magnitude, no
//! trailing zero bytes), so decoding and encoding are copies, and it does only
//! what a codec needs: conversions to and from Rust's fixed-width integers and
//! decimal printing. It is not an arithmetic library.

use std::fmt;

/// An integer of any size: a sign and a little-endian magnitude.
///
/// [`Term::BigInt`](crate::Term::BigInt) holds the integers outside `i64`; the ones
/// inside are [`Term::Int`](crate::Term::Int) (the decoder guarantees it; use
/// [`Term::from`](crate::Term) on a `BigInt` to get the canonical form).
///
/// ```
/// use bream_dist::BigInt;
/// let b = BigInt::from(u128::MAX);
/// assert_eq!(b.to_string(), "340282366920938463463374607431768211455");
/// assert_eq!(b.to_u128(), Some(u128::MAX));
/// assert_eq!(b.to_i64(), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct BigInt {
    /// True for negative values; never true for zero.
    negative: bool,
    /// Little-endian magnitude without trailing zero bytes (empty for zero).
    magnitude: Vec<u8>,
}

impl BigInt {
    /// Builds a `BigInt` from a sign and a little-endian magnitude (trailing zero
    /// bytes are dropped; a zero magnitude is never negative).
    pub fn from_sign_magnitude(negative: bool, mut magnitude_le: Vec<u8>) -> BigInt {
        while magnitude_le.last() == Some(&0) {
            magnitude_le.pop();
        }
        BigInt {
            negative: negative && !magnitude_le.is_empty(),
            magnitude: magnitude_le,
        }
    }

    /// True when the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The little-endian magnitude, without trailing zero bytes.
    pub fn magnitude_le(&self) -> &[u8] {
        &self.magnitude
    }

    /// The magnitude as a `u128`, if it fits.
    fn magnitude_u128(&self) -> Option<u128> {
        if self.magnitude.len() > 16 {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..self.magnitude.len()].copy_from_slice(&self.magnitude);
        Some(u128::from_le_bytes(buf))
    }

    /// The value as an `i128`, if it fits.
    pub fn to_i128(&self) -> Option<i128> {
        let m = self.magnitude_u128()?;
        if self.negative {
            if m <= i128::MAX as u128 + 1 {
                Some((m as i128).wrapping_neg())
            } else {
                None
            }
        } else {
            i128::try_from(m).ok()
        }
    }

    /// The value as a `u128`, if it fits.
    pub fn to_u128(&self) -> Option<u128> {
        if self.negative {
            None
        } else {
            self.magnitude_u128()
        }
    }

    /// The value as an `i64`, if it fits.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// The value as a `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        self.to_u128().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as the nearest `f64` (infinite when it is beyond `f64`'s range).
    pub fn to_f64(&self) -> f64 {
        let mut v = 0.0f64;
        for &b in self.magnitude.iter().rev() {
            v = v * 256.0 + f64::from(b);
        }
        if self.negative {
            -v
        } else {
            v
        }
    }
}

impl From<i128> for BigInt {
    fn from(v: i128) -> BigInt {
        BigInt::from_sign_magnitude(v < 0, v.unsigned_abs().to_le_bytes().to_vec())
    }
}

impl From<u128> for BigInt {
    fn from(v: u128) -> BigInt {
        BigInt::from_sign_magnitude(false, v.to_le_bytes().to_vec())
    }
}

impl From<i64> for BigInt {
    fn from(v: i64) -> BigInt {
        BigInt::from(i128::from(v))
    }
}

impl From<u64> for BigInt {
    fn from(v: u64) -> BigInt {
        BigInt::from(u128::from(v))
    }
}

impl fmt::Display for BigInt {
    /// Decimal, as Erlang prints integers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Repeated division of base-2^32 limbs by 10^9; each remainder is nine
        // decimal digits, least significant group first.
        let mut limbs: Vec<u32> = self
            .magnitude
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(b)
            })
            .collect();
        let mut groups = Vec::new();
        while limbs.iter().any(|&l| l != 0) {
            let mut rem: u64 = 0;
            for limb in limbs.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            groups.push(rem as u32);
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
        }
        let mut s = String::new();
        if self.negative {
            s.push('-');
        }
        match groups.split_last() {
            None => s.push('0'),
            Some((most, rest)) => {
                s.push_str(&most.to_string());
                for g in rest.iter().rev() {
                    s.push_str(&format!("{g:09}"));
                }
            }
        }
        f.pad(&s)
    }
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BigInt({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_rust_for_128_bit_values() {
        for v in [
            0i128,
            1,
            -1,
            999_999_999,
            1_000_000_000,
            i128::MAX,
            i128::MIN,
            -(1 << 64),
        ] {
            assert_eq!(BigInt::from(v).to_string(), v.to_string());
            assert_eq!(BigInt::from(v).to_i128(), Some(v));
        }
        assert_eq!(BigInt::from(u128::MAX).to_i128(), None);
    }

    #[test]
    fn decimal_of_2_pow_2048_has_617_digits() {
        let mut mag = vec![0u8; 256];
        mag.push(1);
        let s = BigInt::from_sign_magnitude(false, mag).to_string();
        assert_eq!(s.len(), 617);
        assert!(s.starts_with("3231700607131100730071487668866995196044"));
    }
}

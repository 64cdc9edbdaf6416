//! A bounds-checked cursor over the decoder's input.

use super::error::{DecodeError, DecodeErrorKind as Kind};

/// A cursor over the input; every read checks the bytes remain.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn end(&self) -> DecodeError {
        DecodeError::new(self.buf.len(), Kind::UnexpectedEnd)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| self.end())?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn peek_u32(&self) -> Result<u32, DecodeError> {
        let s = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.end())?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Checks that `claimed` things of at least `min_size` bytes each fit in what
    /// remains after the `header` bytes of the length field itself.
    pub(crate) fn count(
        &self,
        claimed: u64,
        min_size: u64,
        header: usize,
    ) -> Result<usize, DecodeError> {
        let remaining = self.buf.len().saturating_sub(self.pos + header);
        if claimed.saturating_mul(min_size) > remaining as u64 {
            return Err(DecodeError::new(
                self.pos,
                Kind::LengthTooLarge { claimed, remaining },
            ));
        }
        Ok(claimed as usize)
    }
}

//! The field encodings shared by the zproto codecs (ZRE and ZGossip):
//! big-endian numbers, `string` (u8 length), `longstr` (u32 length),
//! `strings` (u32 count of longstr) and `hash` (u32 count of string key +
//! longstr value). Parsers are nom's; errors are mapped to a `WireError`
//! that names the field.

use super::WireError;
use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};

pub(crate) type Parsed<'a, T> = Result<(&'a [u8], T), WireError>;

type NomErr<'a> = nom::error::Error<&'a [u8]>;

pub(crate) fn number1<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, u8> {
    be_u8::<_, NomErr<'a>>(input).map_err(|_| WireError::Truncated { field })
}

pub(crate) fn number2<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, u16> {
    be_u16::<_, NomErr<'a>>(input).map_err(|_| WireError::Truncated { field })
}

pub(crate) fn number4<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, u32> {
    be_u32::<_, NomErr<'a>>(input).map_err(|_| WireError::Truncated { field })
}

pub(crate) fn bytes<'a>(input: &'a [u8], len: usize, field: &'static str) -> Parsed<'a, &'a [u8]> {
    take::<_, _, NomErr<'a>>(len)
        .parse(input)
        .map_err(|_| WireError::Truncated { field })
}

fn utf8<'a>(raw: &'a [u8], field: &'static str) -> Result<&'a str, WireError> {
    std::str::from_utf8(raw).map_err(|_| WireError::InvalidUtf8 { field })
}

/// `string`: one length byte, then that many bytes of UTF-8.
pub(crate) fn string<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, &'a str> {
    let (input, len) = number1(input, field)?;
    let (input, raw) = bytes(input, len as usize, field)?;
    Ok((input, utf8(raw, field)?))
}

/// `longstr`: a u32 length, then that many bytes of UTF-8.
pub(crate) fn longstr<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, &'a str> {
    let (input, len) = number4(input, field)?;
    let (input, raw) = bytes(input, len as usize, field)?;
    Ok((input, utf8(raw, field)?))
}

/// Checks a count against the bytes left, given the smallest encoding of
/// one item, so that no allocation is ever sized from an unchecked count.
fn checked_count(input: &[u8], count: u32, min_item: usize, field: &'static str) -> Result<usize, WireError> {
    if (count as usize) > input.len() / min_item {
        return Err(WireError::CountTooLarge {
            field,
            count,
            remaining: input.len(),
        });
    }
    Ok(count as usize)
}

/// `strings`: a u32 count, then that many `longstr`.
pub(crate) fn strings<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, Vec<&'a str>> {
    let (mut input, count) = number4(input, field)?;
    let count = checked_count(input, count, 4, field)?;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let (rest, item) = longstr(input, field)?;
        items.push(item);
        input = rest;
    }
    Ok((input, items))
}

/// `hash`: a u32 count, then that many (`string` key, `longstr` value).
pub(crate) fn hash<'a>(input: &'a [u8], field: &'static str) -> Parsed<'a, Vec<(&'a str, &'a str)>> {
    let (mut input, count) = number4(input, field)?;
    let count = checked_count(input, count, 1 + 4, field)?;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let (rest, key) = string(input, field)?;
        let (rest, value) = longstr(rest, field)?;
        items.push((key, value));
        input = rest;
    }
    Ok((input, items))
}

pub(crate) fn put_number1(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

pub(crate) fn put_number4(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub(crate) fn put_string(out: &mut Vec<u8>, value: &str, field: &'static str) -> Result<(), WireError> {
    let len = u8::try_from(value.len()).map_err(|_| WireError::TooLong {
        field,
        len: value.len(),
        max: u8::MAX as usize,
    })?;
    out.push(len);
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

fn count_u32(len: usize, field: &'static str) -> Result<u32, WireError> {
    u32::try_from(len).map_err(|_| WireError::TooLong {
        field,
        len,
        max: u32::MAX as usize,
    })
}

pub(crate) fn put_longstr(out: &mut Vec<u8>, value: &str, field: &'static str) -> Result<(), WireError> {
    put_number4(out, count_u32(value.len(), field)?);
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

pub(crate) fn put_strings(out: &mut Vec<u8>, values: &[&str], field: &'static str) -> Result<(), WireError> {
    put_number4(out, count_u32(values.len(), field)?);
    for value in values {
        put_longstr(out, value, field)?;
    }
    Ok(())
}

pub(crate) fn put_hash(
    out: &mut Vec<u8>,
    pairs: &[(&str, &str)],
    field: &'static str,
) -> Result<(), WireError> {
    put_number4(out, count_u32(pairs.len(), field)?);
    for (key, value) in pairs {
        put_string(out, key, field)?;
        put_longstr(out, value, field)?;
    }
    Ok(())
}

/// Checks the two signature bytes that open every zproto frame.
pub(crate) fn signature<'a>(input: &'a [u8], expected: &'static [u8; 2]) -> Parsed<'a, ()> {
    let (rest, found) = bytes(input, 2, "signature")?;
    if found != expected {
        return Err(WireError::BadSignature {
            expected,
            found: found.to_vec(),
        });
    }
    Ok((rest, ()))
}

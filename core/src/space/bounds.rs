//! What a member's Automerge bytes may declare, checked before Automerge reads them.
//!
//! Automerge stores operations in columns, most of them run-length encoded: a run is a count and one
//! value, so a few bytes can declare hundreds of millions of items. Automerge 0.12 materialises some
//! columns whole while it parses a bundle (a delta column becomes a `Vec<i64>` of every item) and
//! sizes buffers from the op counters a change declares, before it finds the input invalid: a
//! 407-byte bundle took about 2 GB (fuzzing finding O1, docs/reliability.md). Here our own reader
//! walks the chunk's column metadata and every column's runs without expanding anything, and refuses
//! a payload whose columns declare more items than its size can account for.
//!
//! The limit ([`Budget`]): each column (a group column's counts included), and each change's
//! declared op range, may hold at most
//! [`ITEMS_FLOOR`] plus [`ITEMS_PER_BYTE`] items per byte of the payload (counted with every
//! DEFLATE-compressed column inflated), and never more than [`MAX_COLUMN_ITEMS`]; all columns of a
//! payload together at most [`COLUMNS_PER_LIMIT`] times that. What Sebaya writes stays far below:
//! a text character is one op carrying at least one byte in the value column, and a batch is at most
//! 2 MiB of raw changes. Compressed columns are inflated under the payload's inflation bound
//! ([`MAX_INFLATED_LEN`]), which Automerge's own inflating (unbounded) then cannot pass either.
//!
//! The format read here is Automerge's binary format (chunk header, column metadata, RLE, delta and
//! boolean column encodings) as its specification describes it; the bundle chunk (type 3) is
//! Automerge 0.12's experimental format, read as its source lays it out.

use std::borrow::Cow;
use std::io::Read;

use super::codec::MAX_INFLATED_LEN;
use crate::error::{Error, Result};

/// Items any one column (or one change's op range) may declare, whatever the payload's size.
pub const MAX_COLUMN_ITEMS: u64 = 4 << 20;
/// Items a column may declare however small the payload (a journal entry's text is at most 100,000
/// characters, each one op; the floor keeps every column of such an entry within it, and the
/// per-byte allowance covers the rest).
pub const ITEMS_FLOOR: u64 = 1 << 16;
/// Items a column may declare per byte of the (inflated) payload.
pub const ITEMS_PER_BYTE: u64 = 16;
/// All columns of a payload together may declare this many times one column's limit.
pub const COLUMNS_PER_LIMIT: u64 = 16;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_CHANGE: u8 = 1;
const CHUNK_BUNDLE: u8 = 3;

/// Column types (the low three bits of a column specification).
const COL_GROUP: u32 = 0;
const COL_ACTOR: u32 = 1;
const COL_INTEGER: u32 = 2;
const COL_DELTA: u32 = 3;
const COL_BOOLEAN: u32 = 4;
const COL_STRING: u32 = 5;
const COL_VALUE_META: u32 = 6;
const COL_VALUE: u32 = 7;
const COL_DEFLATE: u32 = 8;

/// Bundle change-metadata columns whose values size Automerge's buffers: each change's first and
/// last op counter (delta columns 1 and 2).
const BUNDLE_START_OP: u32 = (1 << 4) | COL_DELTA;
const BUNDLE_MAX_OP: u32 = (2 << 4) | COL_DELTA;

fn refused(what: &'static str) -> Error {
    Error::Content(what)
}

/// How many items the columns of one payload may still declare.
#[derive(Debug)]
pub(crate) struct Budget {
    per_column: u64,
    left: u64,
}

impl Budget {
    /// The budget of a payload of `len` bytes (compressed columns counted inflated).
    pub(crate) fn for_len(len: usize) -> Budget {
        Budget::with_cap(len, MAX_COLUMN_ITEMS)
    }

    /// The budget of `len` bytes with `cap` items at most per column.
    fn with_cap(len: usize, cap: u64) -> Budget {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let per_column = ITEMS_FLOOR
            .saturating_add(len.saturating_mul(ITEMS_PER_BYTE))
            .min(cap);
        Budget {
            per_column,
            left: per_column.saturating_mul(COLUMNS_PER_LIMIT),
        }
    }

    /// Takes `items` declared by one column (or one change's op range) from the budget.
    fn take(&mut self, items: u64) -> Result<()> {
        if items > self.per_column || items > self.left {
            return Err(refused("payload declares more items than its size allows"));
        }
        self.left -= items;
        Ok(())
    }
}

/// A cursor over untrusted bytes: every read checks its bounds and fails as refused content.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self
            .data
            .split_first()
            .ok_or(refused("truncated Automerge data"))?;
        self.data = rest;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| refused("truncated Automerge data"))?;
        if n > self.data.len() {
            return Err(refused("truncated Automerge data"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// An unsigned LEB128 number of at most 64 bits.
    fn uleb(&mut self) -> Result<u64> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift >= 64 || (shift == 63 && part > 1) {
                return Err(refused("LEB128 number overflows"));
            }
            value |= part << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A signed LEB128 number of at most 64 bits.
    fn sleb(&mut self) -> Result<i64> {
        let mut value: i128 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(refused("LEB128 number overflows"));
            }
            value |= i128::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if b & 0x40 != 0 {
                    value -= 1i128 << shift;
                }
                return i64::try_from(value).map_err(|_| refused("LEB128 number overflows"));
            }
        }
    }

    /// A length-prefixed byte string.
    fn prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.uleb()?;
        self.take(n)
    }
}

/// One column as the metadata declares it: its specification and its bytes (inflated if it was
/// compressed).
struct Column<'a> {
    spec: u32,
    data: Cow<'a, [u8]>,
}

/// Reads a column metadata block (count, then specification and length per column), without the
/// columns' data.
fn column_specs(r: &mut Reader<'_>) -> Result<Vec<(u32, u64)>> {
    let n = r.uleb()?;
    let mut specs = Vec::new();
    for _ in 0..n {
        // Each column takes at least two bytes of metadata: a count past the input ends here.
        let spec =
            u32::try_from(r.uleb()?).map_err(|_| refused("column specification overflows"))?;
        let len = r.uleb()?;
        specs.push((spec, len));
    }
    Ok(specs)
}

/// Takes the data of the columns `specs` declares from `r`, inflating compressed ones under what is
/// left of `inflate_left`.
fn column_data<'a>(
    r: &mut Reader<'a>,
    specs: &[(u32, u64)],
    inflate_left: &mut usize,
) -> Result<Vec<Column<'a>>> {
    let mut columns = Vec::with_capacity(specs.len());
    for &(spec, len) in specs {
        let raw = r.take(len)?;
        let data = if spec & COL_DEFLATE != 0 {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(raw)
                .take(*inflate_left as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| refused("invalid compressed column"))?;
            if out.len() > *inflate_left {
                return Err(refused("payload inflates past its limit"));
            }
            *inflate_left -= out.len();
            Cow::Owned(out)
        } else {
            Cow::Borrowed(raw)
        };
        columns.push(Column {
            spec: spec & !COL_DEFLATE,
            data,
        });
    }
    Ok(columns)
}

/// Skips one value of an RLE column of type `kind`.
fn skip_value(r: &mut Reader<'_>, kind: u32) -> Result<()> {
    match kind {
        COL_STRING => r.prefixed().map(|_| ()),
        COL_DELTA => r.sleb().map(|_| ()),
        _ => r.uleb().map(|_| ()),
    }
}

/// How many items a column declares, without expanding a run; refused past `limit` (reading stops
/// there, so the walk costs at most the column's bytes). A group column's values are counts too (how
/// many items of the grouped columns belong to each item: an op's predecessors, a change's
/// dependencies), and Automerge reserves room for each count before reading: their sum counts as
/// declared items as well.
fn declared_items(column: &Column<'_>, limit: u64) -> Result<u64> {
    let kind = column.spec & 7;
    let mut r = Reader::new(&column.data);
    let mut items: u64 = 0;
    let mut grouped: u64 = 0;
    let over = || refused("payload declares more items than its size allows");
    // Adds `n` items of value `v` of a group column to `grouped`.
    let mut group = |n: u64, v: u64| -> Result<()> {
        grouped = grouped.saturating_add(n.saturating_mul(v));
        if grouped > limit {
            return Err(over());
        }
        Ok(())
    };
    match kind {
        // Raw bytes, whose lengths the value-metadata column gives: nothing to expand.
        COL_VALUE => return Ok(0),
        // Alternating run lengths of false and true.
        COL_BOOLEAN => {
            while !r.is_empty() {
                items = items.checked_add(r.uleb()?).ok_or_else(over)?;
                if items > limit {
                    return Err(over());
                }
            }
        }
        COL_GROUP | COL_ACTOR | COL_INTEGER | COL_DELTA | COL_STRING | COL_VALUE_META => {
            while !r.is_empty() {
                let n = r.sleb()?;
                let run = if n > 0 {
                    if kind == COL_GROUP {
                        group(n.unsigned_abs(), r.uleb()?)?;
                    } else {
                        skip_value(&mut r, kind)?;
                    }
                    n.unsigned_abs()
                } else if n < 0 {
                    // A literal run: its values follow, each at least one byte, so a count past the
                    // column's end fails on the read.
                    let count = n.unsigned_abs();
                    if count > limit {
                        return Err(over());
                    }
                    for _ in 0..count {
                        if kind == COL_GROUP {
                            group(1, r.uleb()?)?;
                        } else {
                            skip_value(&mut r, kind)?;
                        }
                    }
                    count
                } else {
                    r.uleb()?
                };
                items = items.checked_add(run).ok_or_else(over)?;
                if items > limit {
                    return Err(over());
                }
            }
        }
        // A column type this reader does not know: Automerge keeps such columns without reading
        // them.
        _ => return Ok(0),
    }
    Ok(items.saturating_add(grouped))
}

/// The values of a delta column, one at a time (nulls as `None`), never expanded into memory.
struct DeltaValues<'a> {
    r: Reader<'a>,
    /// Items left in the current run, and its kind.
    left: u64,
    run: Run,
    running: i128,
}

#[derive(Clone, Copy)]
enum Run {
    Repeat(i128),
    Literal,
    Null,
}

impl<'a> DeltaValues<'a> {
    fn new(column: &'a Column<'_>) -> DeltaValues<'a> {
        DeltaValues {
            r: Reader::new(&column.data),
            left: 0,
            run: Run::Null,
            running: 0,
        }
    }

    /// The next value, `Ok(None)` at the column's end.
    fn next_value(&mut self) -> Result<Option<Option<i128>>> {
        while self.left == 0 {
            if self.r.is_empty() {
                return Ok(None);
            }
            let n = self.r.sleb()?;
            self.left = n.unsigned_abs();
            self.run = if n > 0 {
                Run::Repeat(i128::from(self.r.sleb()?))
            } else if n < 0 {
                Run::Literal
            } else {
                self.left = self.r.uleb()?;
                Run::Null
            };
        }
        self.left -= 1;
        let d = match self.run {
            Run::Repeat(d) => d,
            Run::Literal => i128::from(self.r.sleb()?),
            Run::Null => return Ok(Some(None)),
        };
        // At most 2^22 items of at most 2^63 each (the column was bounded first): no overflow.
        self.running += d;
        Ok(Some(Some(self.running)))
    }
}

/// Takes every column's declared items from the budget.
fn check_columns(columns: &[Column<'_>], budget: &mut Budget) -> Result<()> {
    for c in columns {
        let items = declared_items(c, budget.per_column.min(budget.left))?;
        budget.take(items)?;
    }
    Ok(())
}

/// Reads a chunk header: magic, checksum, type and the body's length; returns the type and body.
fn chunk<'a>(r: &mut Reader<'a>) -> Result<(u8, &'a [u8])> {
    if r.take(4)? != MAGIC {
        return Err(refused("not an Automerge chunk"));
    }
    r.take(4)?;
    let kind = r.byte()?;
    let len = r.uleb()?;
    Ok((kind, r.take(len)?))
}

/// Checks an Automerge bundle (the body of a codec-1 payload) before Automerge parses it: every
/// column's declared items, and each change's declared op range, within the payload's [`Budget`].
pub(crate) fn check_bundle(data: &[u8]) -> Result<()> {
    let mut r = Reader::new(data);
    let (kind, body) = chunk(&mut r)?;
    if kind != CHUNK_BUNDLE {
        return Err(refused("not an Automerge bundle"));
    }
    let mut b = Reader::new(body);
    let deps = b.uleb()?;
    for _ in 0..deps {
        b.take(32)?;
    }
    let actors = b.uleb()?;
    for _ in 0..actors {
        b.prefixed()?;
    }
    let mut inflate_left = MAX_INFLATED_LEN;
    let change_specs = column_specs(&mut b)?;
    let changes = column_data(&mut b, &change_specs, &mut inflate_left)?;
    let op_specs = column_specs(&mut b)?;
    let ops = column_data(&mut b, &op_specs, &mut inflate_left)?;
    let inflated = data.len() + (MAX_INFLATED_LEN - inflate_left);
    let mut budget = Budget::for_len(inflated);
    check_columns(&changes, &mut budget)?;
    check_columns(&ops, &mut budget)?;
    // Automerge sizes a buffer per change from its op range (max_op - start_op + 1), read from
    // these two columns: the ranges must be sane and together within the budget too.
    let column = |spec: u32| changes.iter().find(|c| c.spec == spec);
    if let (Some(start), Some(max)) = (column(BUNDLE_START_OP), column(BUNDLE_MAX_OP)) {
        let (mut start, mut max) = (DeltaValues::new(start), DeltaValues::new(max));
        let mut total: u64 = 0;
        while let (Some(s), Some(m)) = (start.next_value()?, max.next_value()?) {
            let (Some(s), Some(m)) = (s, m) else {
                return Err(refused("change without an op range"));
            };
            let n = m + 1 - s;
            if n < 0 || s < 0 {
                return Err(refused("change with an inverted op range"));
            }
            let n = u64::try_from(n).map_err(|_| refused("change op range overflows"))?;
            total = total.saturating_add(n);
            if total > budget.per_column {
                return Err(refused("payload declares more items than its size allows"));
            }
        }
    }
    Ok(())
}

/// The op columns of a change chunk's body (uncompressed columns only: a change chunk's columns are
/// never compressed one by one).
fn change_columns<'a>(body: &'a [u8]) -> Result<Vec<Column<'a>>> {
    let mut b = Reader::new(body);
    let deps = b.uleb()?;
    for _ in 0..deps {
        b.take(32)?;
    }
    b.prefixed()?; // actor
    b.uleb()?; // seq
    b.uleb()?; // start op
    b.sleb()?; // time
    b.prefixed()?; // message
    let others = b.uleb()?;
    for _ in 0..others {
        b.prefixed()?;
    }
    let specs = column_specs(&mut b)?;
    let mut no_inflating = 0;
    column_data(&mut b, &specs, &mut no_inflating)
}

/// Checks uncompressed change chunks (the inflated body of a codec-2 payload, `inflated_len` bytes)
/// before Automerge parses them: every column of every chunk within one [`Budget`] for the payload.
pub(crate) fn check_change_chunks(chunks: &[&[u8]], inflated_len: usize) -> Result<()> {
    let mut budget = Budget::for_len(inflated_len);
    for data in chunks {
        let mut r = Reader::new(data);
        let (kind, body) = chunk(&mut r)?;
        if kind != CHUNK_CHANGE {
            return Err(refused("compressed or foreign chunk in payload"));
        }
        check_columns(&change_columns(body)?, &mut budget)?;
    }
    Ok(())
}

/// Items a column of a snapshot's document may declare, whatever its size: a document holds a whole
/// space's history, so more than one envelope's changes.
pub const MAX_DOCUMENT_COLUMN_ITEMS: u64 = 16 << 20;
/// Bytes a snapshot's compressed columns and chunks may inflate to, in all.
pub const MAX_DOCUMENT_INFLATED_LEN: usize = 64 << 20;

const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_COMPRESSED_CHANGE: u8 = 2;

/// Checks a member's document (a snapshot's `save()`: chunks Automerge's `load` reads, a document,
/// changes or a bundle) before Automerge loads it: every column of the document and change chunks
/// within one [`Budget`] (with the document's cap), each bundle as [`check_bundle`] does, and
/// compressed chunks inflated under [`MAX_DOCUMENT_INFLATED_LEN`].
pub(crate) fn check_saved(data: &[u8]) -> Result<()> {
    let mut r = Reader::new(data);
    let mut inflate_left = MAX_DOCUMENT_INFLATED_LEN;
    let mut columns: Vec<Column<'_>> = Vec::new();
    while !r.is_empty() {
        let whole = r.data;
        let (kind, body) = chunk(&mut r)?;
        match kind {
            CHUNK_DOCUMENT => {
                let mut b = Reader::new(body);
                let actors = b.uleb()?;
                for _ in 0..actors {
                    b.prefixed()?;
                }
                let heads = b.uleb()?;
                for _ in 0..heads {
                    b.take(32)?;
                }
                let change_specs = column_specs(&mut b)?;
                let op_specs = column_specs(&mut b)?;
                columns.extend(column_data(&mut b, &change_specs, &mut inflate_left)?);
                columns.extend(column_data(&mut b, &op_specs, &mut inflate_left)?);
            }
            CHUNK_CHANGE => columns.extend(change_columns(body)?),
            CHUNK_COMPRESSED_CHANGE => {
                // Its body inflates to a change's: bounded here, and its columns left to Automerge.
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(body)
                    .take(inflate_left as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|_| refused("invalid compressed chunk"))?;
                if out.len() > inflate_left {
                    return Err(refused("payload inflates past its limit"));
                }
                inflate_left -= out.len();
            }
            CHUNK_BUNDLE => {
                let len = whole.len() - r.data.len();
                check_bundle(&whole[..len])?;
            }
            _ => return Err(refused("not an Automerge chunk")),
        }
    }
    let inflated = data.len() + (MAX_DOCUMENT_INFLATED_LEN - inflate_left);
    let mut budget = Budget::with_cap(inflated, MAX_DOCUMENT_COLUMN_ITEMS);
    check_columns(&columns, &mut budget)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn column(spec: u32, data: &[u8]) -> Column<'_> {
        Column {
            spec,
            data: Cow::Borrowed(data),
        }
    }

    #[test]
    fn runs_are_counted_not_expanded() {
        // A run of 5 of value 7, a literal run of 2, a null run of 3.
        let c = column(COL_INTEGER, &[0x05, 0x07, 0x7e, 0x01, 0x02, 0x00, 0x03]);
        assert_eq!(declared_items(&c, 100).unwrap(), 10);
        assert!(declared_items(&c, 9).is_err());
        // A run of 2^62 items in three bytes... and more.
        let c = column(
            COL_DELTA,
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x01],
        );
        assert!(declared_items(&c, MAX_COLUMN_ITEMS).is_err());
        let c = column(COL_BOOLEAN, &[0x02, 0x03, 0xff, 0xff, 0x7f]);
        assert!(declared_items(&c, 1000).is_err());
        assert_eq!(
            declared_items(&column(COL_BOOLEAN, &[2, 3]), 10).unwrap(),
            5
        );
    }

    #[test]
    fn a_group_column_counts_its_counts() {
        // Three ops with two predecessors each, then one with 2^40.
        let c = column(COL_GROUP, &[0x03, 0x02]);
        assert_eq!(declared_items(&c, 100).unwrap(), 3 + 6);
        let c = column(COL_GROUP, &[0x7f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        assert!(declared_items(&c, MAX_COLUMN_ITEMS).is_err());
    }

    #[test]
    fn truncated_and_overlong_columns_are_refused() {
        // A literal run of 3 strings with one present.
        let c = column(COL_STRING, &[0x7d, 0x01, b'a']);
        assert!(declared_items(&c, 100).is_err());
        // An 11-byte LEB128 number.
        let c = column(COL_ACTOR, &[0xff; 11]);
        assert!(declared_items(&c, 100).is_err());
        // The most negative count.
        let mut bytes = vec![0x80; 9];
        bytes.push(0x7f);
        assert!(declared_items(&column(COL_GROUP, &bytes), 100).is_err());
    }

    #[test]
    fn the_budget_grows_with_the_payload_and_stops_at_the_cap() {
        assert_eq!(Budget::for_len(0).per_column, ITEMS_FLOOR);
        assert_eq!(
            Budget::for_len(1000).per_column,
            ITEMS_FLOOR + 1000 * ITEMS_PER_BYTE
        );
        assert_eq!(Budget::for_len(usize::MAX).per_column, MAX_COLUMN_ITEMS);
        let mut b = Budget::for_len(0);
        for _ in 0..COLUMNS_PER_LIMIT {
            b.take(ITEMS_FLOOR).unwrap();
        }
        assert!(b.take(1).is_err());
    }
}

//! A fast reader for the plain subset of RON that rev itself writes.
//!
//! Loading 100,000 migration files spends most of its time in RON's general
//! parser (Unicode identifiers, raw strings, extensions, error positions). This
//! deserializer accepts a strict subset of RON: ASCII identifiers, `//`
//! comments, strings without escapes, decimal integers, and the
//! structs, enums, options (with `implicit_some`), lists and tuples that rev's
//! file types use. It drives the same serde visitors as RON, so every input it
//! accepts yields the value RON would give. It never reports an error of its
//! own: on anything outside the subset, or anything wrong, it gives up and the
//! caller parses the text again with RON, which produces the exact message and
//! position.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer as _, Visitor};

/// The one "error" of the fast path: the input needs the full RON parser.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outside the fast RON subset")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        GiveUp
    }
}

type Result<T> = std::result::Result<T, GiveUp>;

/// Nesting deeper than this is left to RON, whose own limit is higher.
const MAX_DEPTH: usize = 64;

/// Parses `text` as RON with `implicit_some` on, or returns `None` when the
/// full RON parser must decide (an error, or syntax outside the subset).
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    let mut de = Fast {
        text,
        pos: 0,
        depth: 0,
        newtype: false,
    };
    de.skip_ws().ok()?;
    // `#![enable(..)]` attributes change how RON reads the rest.
    if de.peek() == Some(b'#') {
        return None;
    }
    let value = T::deserialize(&mut de).ok()?;
    de.skip_ws().ok()?;
    (de.pos == text.len()).then_some(value)
}

struct Fast<'de> {
    text: &'de str,
    pos: usize,
    depth: usize,
    /// Set inside `Variant(..)` and `Some(..)`: with RON's
    /// `unwrap_variant_newtypes`, a struct there is written without its own
    /// name and parentheses, as in `SqlFor(mssql: "..")`.
    newtype: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'de> Fast<'de> {
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Skips ASCII whitespace and `//` comments; gives up on anything RON
    /// might also treat as whitespace (Unicode spaces, block comments).
    fn skip_ws(&mut self) -> Result<()> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' => match bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        let rest = bytes.get(self.pos..).unwrap_or_default();
                        self.pos += rest
                            .iter()
                            .position(|&c| c == b'\n')
                            .map_or(rest.len(), |at| at + 1);
                    }
                    _ => return Err(GiveUp),
                },
                b if b >= 0x80 => return Err(GiveUp),
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn consume(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.consume(b) {
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// Skips whitespace and one comma if there is one, as RON's `comma` does.
    fn comma(&mut self) -> Result<bool> {
        self.skip_ws()?;
        if self.consume(b',') {
            self.skip_ws()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Returns the ASCII identifier at the cursor without consuming it; gives up
    /// when what follows could extend it in RON (Unicode, raw or byte strings).
    fn peek_ident(&self) -> Result<Option<&'de str>> {
        let bytes = self.bytes();
        match bytes.get(self.pos) {
            Some(&b) if is_ident_start(b) => {}
            Some(&b) if b >= 0x80 => return Err(GiveUp),
            _ => return Ok(None),
        }
        let len = bytes
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .position(|&b| !is_ident_continue(b))
            .unwrap_or(bytes.len() - self.pos);
        let end = self.pos + len;
        if let Some(&next) = bytes.get(end) {
            if next >= 0x80 || next == b'#' || next == b'"' || next == b'\'' {
                return Err(GiveUp);
            }
        }
        self.text.get(self.pos..end).map(Some).ok_or(GiveUp)
    }

    fn ident(&mut self) -> Result<&'de str> {
        let ident = self.peek_ident()?.ok_or(GiveUp)?;
        self.pos += ident.len();
        Ok(ident)
    }

    fn string(&mut self) -> Result<&'de str> {
        self.expect(b'"')?;
        let start = self.pos;
        let bytes = self.bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b'"') => break,
                // Escapes and control characters are RON's to judge.
                Some(b'\\') | None => return Err(GiveUp),
                Some(&b) if b < 0x20 => return Err(GiveUp),
                Some(_) => self.pos += 1,
            }
        }
        let value = self.text.get(start..self.pos).ok_or(GiveUp)?;
        self.pos += 1;
        Ok(value)
    }

    /// Reads a plain decimal integer; anything fancier (signs on unsigned
    /// types, `+`, hex, `_`, leading zeros, floats) goes to RON.
    fn integer<T: TryFrom<i128>>(&mut self, signed: bool) -> Result<T> {
        let bytes = self.bytes();
        let negative = signed && self.peek() == Some(b'-');
        let start = self.pos + usize::from(negative);
        let digits = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 30 {
            return Err(GiveUp);
        }
        let end = start + digits;
        if digits > 1 && bytes.get(start) == Some(&b'0') {
            return Err(GiveUp);
        }
        if let Some(&next) = bytes.get(end) {
            if is_ident_continue(next) || next == b'.' || next >= 0x80 {
                return Err(GiveUp);
            }
        }
        let mut value: i128 = 0;
        for &d in bytes.get(start..end).unwrap_or_default() {
            value = value * 10 + i128::from(d - b'0');
        }
        if negative {
            if value == 0 {
                return Err(GiveUp);
            }
            value = -value;
        }
        self.pos = end;
        T::try_from(value).map_err(|_| GiveUp)
    }

    /// Counts the elements of the list whose `[` was just read, so the
    /// vector is allocated once at its size rather than grown to a power of
    /// two. Only a hint: `None` when the look ahead meets anything unusual.
    fn count_elements(&self) -> Option<usize> {
        let bytes = self.bytes().get(self.pos..)?;
        let mut depth = 0usize;
        let mut count = 0;
        let mut pending = false;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    let len = bytes.get(i + 1..)?.iter().position(|&c| c == b'"')?;
                    if bytes.get(i + 1..i + 1 + len)?.contains(&b'\\') {
                        return None;
                    }
                    i += len + 1;
                    pending = true;
                }
                b'/' => {
                    let len = bytes.get(i..)?.iter().position(|&c| c == b'\n')?;
                    i += len;
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    pending = true;
                }
                b')' | b']' | b'}' if depth == 0 => return Some(count + usize::from(pending)),
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => {
                    count += usize::from(pending);
                    pending = false;
                }
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => pending = true,
            }
            i += 1;
        }
        None
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(GiveUp)
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Reads `( field: value, .. )` into a struct visitor; the cursor is at `(`.
    fn struct_body<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.expect(b'(')?;
        self.enter()?;
        let value = visitor.visit_map(Commas {
            de: self,
            had_comma: true,
            end: b')',
            len: None,
        })?;
        self.leave();
        self.skip_ws()?;
        self.expect(b')')?;
        Ok(value)
    }

    /// Reads `( value, .. )` into a tuple visitor; the cursor is at `(`.
    fn tuple_body<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.expect(b'(')?;
        self.enter()?;
        let value = visitor.visit_seq(Commas {
            de: self,
            had_comma: true,
            end: b')',
            len: None,
        })?;
        self.leave();
        self.skip_ws()?;
        self.expect(b')')?;
        Ok(value)
    }

    /// Reads `( value )` of a newtype variant or an explicit `Some`; the cursor
    /// is at `(`.
    fn wrapped<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.expect(b'(')?;
        self.skip_ws()?;
        self.enter()?;
        self.newtype = true;
        let value = inner(self)?;
        self.newtype = false;
        self.leave();
        self.comma()?;
        self.expect(b')')?;
        Ok(value)
    }
}

/// The elements of a list, tuple or struct body.
struct Commas<'a, 'de> {
    de: &'a mut Fast<'de>,
    had_comma: bool,
    end: u8,
    /// How many elements a list holds, when a quick look could tell.
    len: Option<usize>,
}

impl Commas<'_, '_> {
    fn has_element(&mut self) -> Result<bool> {
        self.de.skip_ws()?;
        let at_end = self.de.peek() == Some(self.end);
        match (self.had_comma, at_end) {
            (true, at_end) => Ok(!at_end),
            (false, true) => Ok(false),
            (false, false) => Err(GiveUp),
        }
    }
}

impl<'de> de::SeqAccess<'de> for Commas<'_, 'de> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.has_element()? {
            return Ok(None);
        }
        let value = seed.deserialize(&mut *self.de)?;
        self.had_comma = self.de.comma()?;
        Ok(Some(value))
    }

    fn size_hint(&self) -> Option<usize> {
        self.len
    }
}

impl<'de> de::MapAccess<'de> for Commas<'_, 'de> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.has_element()? {
            return Ok(None);
        }
        let key = self.de.ident()?;
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.de.skip_ws()?;
        self.de.expect(b':')?;
        self.de.skip_ws()?;
        let value = seed.deserialize(&mut *self.de)?;
        self.had_comma = self.de.comma()?;
        Ok(value)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Fast<'de> {
    type Error = GiveUp;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        self.skip_ws()?;
        let name = self.ident()?;
        let value = seed.deserialize(name.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Fast<'de> {
    type Error = GiveUp;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        self.skip_ws()?;
        self.wrapped(|de| seed.deserialize(&mut *de))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.skip_ws()?;
        self.tuple_body(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.skip_ws()?;
        self.struct_body(visitor)
    }
}

macro_rules! integers {
    ($($method:ident $visit:ident $ty:ty, $signed:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let value: $ty = self.integer($signed)?;
            visitor.$visit(value)
        }
    )*};
}

macro_rules! give_up {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
            Err(GiveUp)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Fast<'de> {
    type Error = GiveUp;

    integers! {
        deserialize_i8 visit_i8 i8, true;
        deserialize_i16 visit_i16 i16, true;
        deserialize_i32 visit_i32 i32, true;
        deserialize_i64 visit_i64 i64, true;
        deserialize_u8 visit_u8 u8, false;
        deserialize_u16 visit_u16 u16, false;
        deserialize_u32 visit_u32 u32, false;
        deserialize_u64 visit_u64 u64, false;
    }

    give_up! {
        deserialize_any deserialize_f32 deserialize_f64 deserialize_char
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map
        deserialize_ignored_any
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.ident()? {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let value = self.string()?;
        visitor.visit_borrowed_str(value)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let ident = self.ident()?;
        visitor.visit_borrowed_str(ident)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.newtype {
            return Err(GiveUp);
        }
        match self.peek_ident()? {
            Some("None") => {
                self.pos += 4;
                visitor.visit_none()
            }
            Some("Some") => {
                self.pos += 4;
                self.skip_ws()?;
                // RON reads a `Some` without `(` in a surprising way; let it.
                if self.peek() != Some(b'(') {
                    return Err(GiveUp);
                }
                self.wrapped(|de| visitor.visit_some(&mut *de))
            }
            _ => {
                self.enter()?;
                let value = visitor.visit_some(&mut *self)?;
                self.leave();
                Ok(value)
            }
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.newtype = false;
        self.expect(b'[')?;
        self.enter()?;
        let len = self.count_elements();
        let value = visitor.visit_seq(Commas {
            de: &mut *self,
            had_comma: true,
            end: b']',
            len,
        })?;
        self.leave();
        self.skip_ws()?;
        self.expect(b']')?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        if self.newtype {
            return Err(GiveUp);
        }
        self.tuple_body(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value> {
        Err(GiveUp)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if self.newtype {
            // The fields of `Variant(field: ..)`: the variant's parentheses are the struct's.
            self.newtype = false;
            self.enter()?;
            let value = visitor.visit_map(Commas {
                de: &mut *self,
                had_comma: true,
                end: b')',
                len: None,
            })?;
            self.leave();
            return Ok(value);
        }
        // The struct's name is optional, but a different name is an error.
        if let Some(found) = self.peek_ident()? {
            if found != name || name.is_empty() {
                return Err(GiveUp);
            }
            self.pos += found.len();
            self.skip_ws()?;
        }
        self.struct_body(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.newtype = false;
        self.enter()?;
        let value = visitor.visit_enum(&mut *self)?;
        self.leave();
        Ok(value)
    }
}

/// Returns the byte range of the value of the top-level struct field `field`
/// in a RON document (`[..]` of `parents: [..]`), or `None` when the document
/// has no such field or is not a struct. The scan knows RON's strings (with
/// escapes), raw strings, character literals and comments, so a comment or a
/// message that holds the field's name is never taken for it.
pub(crate) fn field_value_span(text: &str, field: &str) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut depth = 0usize;
    // Where the value of the field found at depth 1 starts, once its colon is read.
    let mut value_start: Option<usize> = None;
    // Whether the last token at depth 1 was a separator, so an identifier there is a field name.
    let mut at_key = false;
    let mut pending_key: Option<usize> = None;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                pos += bytes
                    .get(pos..)?
                    .iter()
                    .position(|&c| c == b'\n')
                    .unwrap_or(bytes.len() - pos);
                continue;
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                // RON's block comments nest.
                let mut level = 0usize;
                loop {
                    match (bytes.get(pos), bytes.get(pos + 1)) {
                        (Some(b'/'), Some(b'*')) => {
                            level += 1;
                            pos += 2;
                        }
                        (Some(b'*'), Some(b'/')) => {
                            level -= 1;
                            pos += 2;
                            if level == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => pos += 1,
                        (None, _) => return None,
                    }
                }
                continue;
            }
            b'"' => {
                pos += 1;
                loop {
                    match bytes.get(pos)? {
                        b'\\' => pos += 2,
                        b'"' => break,
                        _ => pos += 1,
                    }
                }
                pos += 1;
                at_key = false;
                continue;
            }
            b'\'' => {
                pos += 1;
                loop {
                    match bytes.get(pos)? {
                        b'\\' => pos += 2,
                        b'\'' => break,
                        _ => pos += 1,
                    }
                }
                pos += 1;
                at_key = false;
                continue;
            }
            b'r' if matches!(bytes.get(pos + 1), Some(b'"' | b'#'))
                && !pos
                    .checked_sub(1)
                    .and_then(|p| bytes.get(p))
                    .is_some_and(|&c| is_ident_continue(c)) =>
            {
                let hashes = bytes
                    .get(pos + 1..)?
                    .iter()
                    .take_while(|&&c| c == b'#')
                    .count();
                if bytes.get(pos + 1 + hashes) != Some(&b'"') {
                    // `r#ident`: a raw identifier.
                    pos += 1 + hashes;
                    continue;
                }
                let closing: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let body = pos + 2 + hashes;
                let len = bytes
                    .get(body..)?
                    .windows(closing.len())
                    .position(|w| w == closing.as_slice())?;
                pos = body + len + closing.len();
                at_key = false;
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    at_key = true;
                }
            }
            b')' | b']' | b'}' => {
                if depth == 1 {
                    // The struct closes right after the field's value.
                    if let Some(start) = value_start {
                        let end = start + text.get(start..pos)?.trim_end().len();
                        return Some(start..end);
                    }
                }
                if depth == 2 {
                    if let Some(start) = value_start {
                        // The value is a list or struct that just closed.
                        if matches!(bytes.get(start), Some(b'[' | b'(' | b'{')) {
                            return Some(start..pos + 1);
                        }
                    }
                }
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b',' if depth == 1 => {
                if let Some(start) = value_start {
                    let end = start + text.get(start..pos)?.trim_end().len();
                    return Some(start..end);
                }
                at_key = true;
            }
            b':' if depth == 1 => {
                if let Some(key) = pending_key.take() {
                    let rest = bytes.get(pos + 1..)?;
                    let skip = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
                    if text.get(key..pos)?.trim_end() == field {
                        value_start = Some(pos + 1 + skip);
                    }
                }
            }
            b if is_ident_start(b) && depth == 1 && at_key => {
                pending_key = Some(pos);
                at_key = false;
            }
            _ => {}
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{field_value_span, from_str};
    use crate::migration::{ron_options, Acknowledged, Migration};
    use crate::Config;
    use rev_schema::{Column, ColumnType, Default, ForeignKey, OnDelete, Operation};

    fn by_ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ron::error::SpannedError> {
        ron_options().from_str(text)
    }

    /// Asserts that the fast reader takes `text` and agrees with RON.
    fn same(text: &str) -> Migration {
        let fast: Migration = from_str(text).expect("the fast reader should take this");
        let ron: Migration = by_ron(text).expect("RON should take this");
        assert_eq!(fast, ron);
        fast
    }

    /// Asserts that the fast reader leaves `text` to RON.
    fn declined<T: serde::de::DeserializeOwned>(text: &str) {
        assert!(
            from_str::<T>(text).is_none(),
            "should be left to RON: {text}"
        );
    }

    const PLAIN: &str = r#"// create users
Migration(
    id: "1f3a9c2b7d40",
    parents: ["0a", "0b",],
    message: "create users — naïve café",
    created: "2026-11-02T09:00:00Z",
    branch_labels: ["users"],
    depends_on: [],
    transactional: false,
    upgrade: [
        CreateTable(
            name: "users",
            columns: [
                Column(name: "id", type: Integer, primary_key: true, identity: true),
                Column(name: "email", type: String(255), nullable: false, default: Str("x")),
                Column(name: "amount", type: Decimal(10, 2), default: Some(Int(-5))),
                Column(name: "created_at", type: DateTime, nullable: Some(false), default: Now),
                Column(name: "blob", type: Custom("BYTEA"), default: None),
            ],
            foreign_keys: [
                ForeignKey(name: "fk", columns: ["a"], ref_table: "t", ref_columns: ["id"], on_delete: Cascade),
            ],
        ),
        AlterColumn(table: "users", name: "email", type: Text, drop_default: true),
        Sql("UPDATE users SET name = 'x'"), // a trailing comment
        SqlFor(mssql: "EXEC x", sqlite: Some("SELECT 1"),),
        SqlFor(),
    ],
    downgrade: Some([DropTable(name: "users", schema: "dbo")]),
)
"#;

    #[test]
    fn agrees_with_ron_on_plain_files() {
        let m = same(PLAIN);
        assert_eq!(m.parents, ["0a", "0b"]);
        assert!(!m.transactional);
        assert_eq!(m.upgrade.len(), 5);
        // Layout does not matter: no whitespace, no struct name, CRLF lines.
        same(r#"Migration(id:"a",parents:[],upgrade:[DropTable(name:"t")])"#);
        same("(\r\n  id: \"a\", // c\r\n  message: \"m\"\r\n)");
        same("Migration ( id : \"a\" , upgrade : [ ] , )");
    }

    #[test]
    fn sizes_lists_exactly() {
        let m = same(PLAIN);
        assert_eq!(m.parents.capacity(), 2);
        assert_eq!(m.upgrade.capacity(), 5);
        let m = same(
            "Migration(id: \"a\", parents: [ // a comment, with ] and [\n \"x\", \"y)\", \"z\"])",
        );
        assert_eq!(m.parents, ["x", "y)", "z"]);
        assert_eq!(m.parents.capacity(), 3);
    }

    #[test]
    fn agrees_with_ron_on_what_rev_writes() {
        let column = |name: &str, ty: ColumnType| Column {
            name: name.into(),
            ty,
            nullable: Some(true),
            primary_key: true,
            identity: true,
            unique: true,
            default: Some(Default::Bool(true)),
        };
        let migration = Migration {
            id: "abc".into(),
            parents: vec!["p1".into(), "p2".into()],
            message: "all \"kinds\"".into(),
            created: Some("2026-11-24T08:00:00Z".into()),
            branch_labels: vec!["l".into()],
            depends_on: vec!["d".into()],
            transactional: false,
            upgrade: vec![
                Operation::CreateTable {
                    name: "t".into(),
                    columns: vec![
                        column("a", ColumnType::Binary(16)),
                        column("b", ColumnType::Uuid),
                    ],
                    foreign_keys: vec![ForeignKey {
                        name: "fk".into(),
                        columns: vec!["a".into()],
                        ref_table: "u".into(),
                        ref_columns: vec!["id".into()],
                        on_delete: Some(OnDelete::SetNull),
                    }],
                    uniques: Vec::new(),
                    checks: Vec::new(),
                    schema: Some("s".into()),
                },
                Operation::RenameColumn {
                    table: "t".into(),
                    name: "a".into(),
                    new_name: "b".into(),
                    schema: None,
                },
            ],
            downgrade: Some(vec![Operation::DropTable {
                name: "t".into(),
                schema: Some("s".into()),
            }]),
            acknowledged: vec![Acknowledged {
                object: "column t.a".into(),
                kind: "both_change".into(),
                left: "p1".into(),
                right: "p2".into(),
            }],
            replaces: vec!["r1".into(), "r2".into()],
        };
        let text = migration.to_ron().unwrap();
        // The message holds quotes, which RON escapes: that file is RON's.
        assert!(from_str::<Migration>(&text).is_none());
        let plain = Migration {
            message: "all kinds".into(),
            ..migration
        };
        assert_eq!(same(&plain.to_ron().unwrap()), plain);
    }

    #[test]
    fn leaves_errors_and_unusual_syntax_to_ron() {
        let cases = [
            // Errors: RON must give the message and position.
            "Migration(id: \"a\", id: \"b\")",
            "Migration(id: \"a\", bogus: 1)",
            "Migration(parents: [])",
            "Migration(id: \"a\",",
            "Migration(id: \"a\") x",
            "Migration(id: \"a\" message: \"m\")",
            "Other(id: \"a\")",
            "Migration(id: \"a\", upgrade: [Nope(name: \"t\")])",
            "Migration(id: \"a\", upgrade: [DropTable(name: \"t\", extra: 1)])",
            "Migration(id: \"a\", transactional: yes)",
            // Valid RON outside the subset.
            "#![enable(implicit_some)]\nMigration(id: \"a\")",
            "/* block */ Migration(id: \"a\")",
            "Migration(id: \"a\\u{41}\")",
            "Migration(id: r\"a\")",
            "Migration(r#id: \"a\")",
            "Migration(id: \"a\", upgrade: [CreateTable(name: \"t\", columns: [Column(name: \"c\", type: String(0x10))])])",
            "Migration(id: \"a\", upgrade: [CreateTable(name: \"t\", columns: [Column(name: \"c\", type: Float, default: Float(1.5))])])",
            "Migration(id: \"a\", downgrade: Some [])",
            "Migration(\u{a0}id: \"a\")",
            // With `unwrap_variant_newtypes`, RON refuses the struct's own name here.
            "Migration(id: \"a\", upgrade: [SqlFor(SqlPerDialect(mssql: \"x\"))])",
            "Migration(id: \"a\", upgrade: [SqlFor((mssql: \"x\"))])",
        ];
        for text in cases {
            declined::<Migration>(text);
        }
    }

    #[test]
    fn reads_configs_like_ron() {
        let text = "Config(url: Some(\"sqlite://bench.db\"), lock_timeout_secs: 5, schema: None)\n";
        let fast: Config = from_str(text).unwrap();
        let ron: Config = by_ron(text).unwrap();
        assert!(fast == ron);
        assert_eq!(fast.lock_timeout_secs, 5);
        declined::<Config>("Config(lock_timeout_secs: -5)");
        declined::<Config>("Config(lock_timeout_secs: 05)");
    }

    #[test]
    fn reads_acknowledged_conflicts_like_ron() {
        let text = r#"Migration(
    id: "m",
    parents: ["a", "b"],
    acknowledged: [
        Acknowledged(object: "column users.name", kind: "renamed_but_used", left: "a", right: "b"),
        (object: "table t", kind: "both_change", left: "a", right: "b",),
    ],
)"#;
        let m = same(text);
        assert_eq!(m.acknowledged.len(), 2);
        assert_eq!(m.acknowledged[0].kind, "renamed_but_used");
        assert!(same("Migration(id: \"a\")").acknowledged.is_empty());
        declined::<Migration>(
            "Migration(id: \"m\", acknowledged: [Acknowledged(object: \"x\", kind: \"k\", left: \"a\")])",
        );
        declined::<Migration>(
            "Migration(id: \"m\", acknowledged: [Other(object: \"x\", kind: \"k\", left: \"a\", right: \"b\")])",
        );
    }

    #[test]
    fn acknowledged_conflicts_leave_the_checksum_alone() {
        let plain = same("Migration(id: \"m\", parents: [\"a\", \"b\"])");
        let acked = same(
            "Migration(id: \"m\", parents: [\"a\", \"b\"], acknowledged: [Acknowledged(object: \"table t\", kind: \"both_change\", left: \"a\", right: \"b\")])",
        );
        assert_eq!(plain.checksum(), acked.checksum());
        // A file without the field is written as before: no `acknowledged` line.
        assert!(!plain.to_ron().unwrap().contains("acknowledged"));
        let written = acked.to_ron().unwrap();
        assert!(written.contains("acknowledged"), "{written}");
        assert_eq!(same(&written), acked);
    }

    #[test]
    fn reads_replaces_like_ron_and_counts_it_in_the_checksum() {
        let plain =
            same("Migration(id: \"s\", parents: [\"a\"], upgrade: [DropTable(name: \"t\")])");
        let squash = same(
            "Migration(id: \"s\", parents: [\"a\"], replaces: [\"b\", \"c\",], upgrade: [DropTable(name: \"t\")])",
        );
        assert_eq!(squash.replaces, ["b", "c"]);
        assert!(plain.replaces.is_empty());
        assert_ne!(plain.checksum(), squash.checksum());
        // A file without the field is written and summed as before.
        assert!(!plain.to_ron().unwrap().contains("replaces"));
        let written = squash.to_ron().unwrap();
        assert!(
            written.contains("replaces: [\n        \"b\",\n        \"c\",\n    ]"),
            "{written}"
        );
        assert_eq!(same(&written), squash);
        declined::<Migration>("Migration(id: \"s\", replaces: \"b\")");
    }

    #[test]
    fn finds_the_span_of_a_field_past_comments_and_strings() {
        let text = r##"// parents: ["nope"]
Migration(
    id: "b", /* parents: ["nope"] /* nested */ */
    message: "parents: [\"x\"] and r\"parents\"",
    created: r#"parents"#,
    upgrade: [Sql("parents: []")],
    parents: [ // the parent
        "a",
    ],
    depends_on: [],
)"##;
        let span = field_value_span(text, "parents").unwrap();
        assert_eq!(&text[span], "[ // the parent\n        \"a\",\n    ]");
        let span = field_value_span(text, "id").unwrap();
        assert_eq!(&text[span], "\"b\"");
        assert_eq!(field_value_span(text, "branch_labels"), None);
        let last = "Migration(id: \"a\", parents: [\"p\"])";
        assert_eq!(&last[field_value_span(last, "parents").unwrap()], "[\"p\"]");
        let bare = "Migration(id: \"a\", message: \"m\")";
        assert_eq!(&bare[field_value_span(bare, "message").unwrap()], "\"m\"");
    }
}

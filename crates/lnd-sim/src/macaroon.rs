//! lnd's macaroons, as the simulator mints and checks them.
//!
//! The binary form is go-macaroon's V2; the identifier is macaroon-bakery's version 3 (a `0x03`
//! byte and a protobuf holding a nonce, the root-key id and the permitted operations); the
//! signature is the HMAC-SHA256 chain keyed by `HMAC("macaroons-key-generator", root key)`. So a
//! client that attenuates a macaroon, as `lncli` does with a `time-before` caveat, is checked
//! exactly as lnd would check it, and refused with lnd's messages.

use std::net::IpAddr;

use bitcoin::hashes::{Hash, HashEngine, Hmac, HmacEngine, sha256};
use prost::Message as _;

/// Where lnd says its macaroons come from.
const LOCATION: &[u8] = b"lnd";
/// lnd's default root-key id.
const ROOT_KEY_ID: &[u8] = b"0";
/// macaroon-bakery's identifier version.
const BAKERY_V3: u8 = 3;

/// An operation a macaroon permits, e.g. `offchain:write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The entity, e.g. `offchain`.
    pub entity: &'static str,
    /// The action, e.g. `write`.
    pub action: &'static str,
}

const fn allow(entity: &'static str, action: &'static str) -> Permission {
    Permission { entity, action }
}

/// Everything `admin.macaroon` permits (lnd bakes it with every read and write permission).
pub const ADMIN: &[Permission] = &[
    allow("address", "read"),
    allow("address", "write"),
    allow("info", "read"),
    allow("info", "write"),
    allow("invoices", "read"),
    allow("invoices", "write"),
    allow("macaroon", "generate"),
    allow("macaroon", "read"),
    allow("macaroon", "write"),
    allow("message", "read"),
    allow("message", "write"),
    allow("offchain", "read"),
    allow("offchain", "write"),
    allow("onchain", "read"),
    allow("onchain", "write"),
    allow("peers", "read"),
    allow("peers", "write"),
    allow("signer", "generate"),
    allow("signer", "read"),
];

/// What `invoice.macaroon` permits: invoices, addresses and on-chain reads.
pub const INVOICE: &[Permission] = &[
    allow("address", "read"),
    allow("address", "write"),
    allow("invoices", "read"),
    allow("invoices", "write"),
    allow("onchain", "read"),
];

/// The permission each served method needs (lnd's permission map for this subset).
pub fn required_permission(method: &str) -> Option<Permission> {
    Some(match method {
        "/lnrpc.Lightning/GetInfo" => allow("info", "read"),
        "/lnrpc.Lightning/WalletBalance" => allow("onchain", "read"),
        "/lnrpc.Lightning/ChannelBalance"
        | "/lnrpc.Lightning/ListPayments"
        | "/lnrpc.Lightning/DecodePayReq"
        | "/lnrpc.Lightning/ListChannels"
        | "/routerrpc.Router/TrackPaymentV2" => allow("offchain", "read"),
        "/lnrpc.Lightning/ListPeers" => allow("peers", "read"),
        "/lnrpc.Lightning/AddInvoice"
        | "/invoicesrpc.Invoices/AddHoldInvoice"
        | "/invoicesrpc.Invoices/SettleInvoice"
        | "/invoicesrpc.Invoices/CancelInvoice" => allow("invoices", "write"),
        "/lnrpc.Lightning/LookupInvoice"
        | "/lnrpc.Lightning/ListInvoices"
        | "/lnrpc.Lightning/SubscribeInvoices"
        | "/invoicesrpc.Invoices/SubscribeSingleInvoice"
        | "/invoicesrpc.Invoices/LookupInvoiceV2" => allow("invoices", "read"),
        "/routerrpc.Router/SendPaymentV2" => allow("offchain", "write"),
        _ => return None,
    })
}

#[derive(Clone, PartialEq, prost::Message)]
struct MacaroonId {
    #[prost(bytes = "vec", tag = "1")]
    nonce: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    storage_id: Vec<u8>,
    #[prost(message, repeated, tag = "3")]
    ops: Vec<Op>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Op {
    #[prost(string, tag = "1")]
    entity: String,
    #[prost(string, repeated, tag = "2")]
    actions: Vec<String>,
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut engine = HmacEngine::<sha256::Hash>::new(key);
    engine.input(message);
    Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// The key the first HMAC of the chain uses.
fn derived_key(root_key: &[u8; 32]) -> [u8; 32] {
    hmac(b"macaroons-key-generator", root_key)
}

/// Mints a V2 macaroon for `permissions`, signed with `root_key`.
pub fn mint(root_key: &[u8; 32], nonce: [u8; 16], permissions: &[Permission]) -> Vec<u8> {
    let mut entities: Vec<&str> = permissions
        .iter()
        .map(|permission| permission.entity)
        .collect();
    entities.sort_unstable();
    entities.dedup();
    let ops = entities
        .into_iter()
        .map(|entity| {
            let mut actions: Vec<String> = permissions
                .iter()
                .filter(|permission| permission.entity == entity)
                .map(|permission| permission.action.to_owned())
                .collect();
            actions.sort();
            Op {
                entity: entity.to_owned(),
                actions,
            }
        })
        .collect();
    let id = MacaroonId {
        nonce: nonce.to_vec(),
        storage_id: ROOT_KEY_ID.to_vec(),
        ops,
    };
    let mut identifier = vec![BAKERY_V3];
    identifier.extend(id.encode_to_vec());
    let signature = hmac(&derived_key(root_key), &identifier);
    let mut out = vec![2];
    packet(&mut out, 1, LOCATION);
    packet(&mut out, 2, &identifier);
    out.push(0);
    out.push(0);
    packet(&mut out, 6, &signature);
    out
}

/// Adds a first-party caveat, as a client attenuating its macaroon does.
pub fn add_caveat(macaroon: &[u8], condition: &str) -> Result<Vec<u8>, String> {
    let mut parsed = Parsed::decode(macaroon)?;
    parsed.signature = hmac(&parsed.signature, condition.as_bytes());
    parsed.caveats.push(condition.as_bytes().to_vec());
    Ok(parsed.encode())
}

fn packet(out: &mut Vec<u8>, field: u8, payload: &[u8]) {
    out.push(field);
    let mut length = payload.len();
    loop {
        let byte = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(payload);
}

/// A decoded V2 macaroon.
struct Parsed {
    identifier: Vec<u8>,
    caveats: Vec<Vec<u8>>,
    signature: [u8; 32],
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or("unmarshal v2: section extends past end of buffer")?;
        self.position += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("unmarshal v2: varint too long".into())
    }

    /// The next packet: `None` for the end-of-section marker.
    fn packet(&mut self) -> Result<Option<(usize, &[u8])>, String> {
        let field = self.varint()?;
        if field == 0 {
            return Ok(None);
        }
        let length = self.varint()?;
        let end = self
            .position
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("unmarshal v2: section extends past end of buffer")?;
        let payload = &self.bytes[self.position..end];
        self.position = end;
        Ok(Some((field, payload)))
    }
}

impl Parsed {
    fn decode(bytes: &[u8]) -> Result<Self, String> {
        match bytes.first() {
            None => return Err("empty macaroon data".into()),
            Some(2) => {}
            Some(byte) if byte.is_ascii_hexdigit() => {
                return Err("unknown macaroon version: v1".into());
            }
            Some(_) => return Err("cannot determine data format of binary-encoded macaroon".into()),
        }
        let mut reader = Reader { bytes, position: 1 };
        let mut identifier = None;
        let mut last_field = 0;
        while let Some((field, payload)) = reader.packet()? {
            if field <= last_field {
                return Err("unmarshal v2: fields out of order".into());
            }
            last_field = field;
            if field == 2 {
                identifier = Some(payload.to_vec());
            }
        }
        let identifier = identifier.ok_or("unmarshal v2: no identifier found")?;
        let mut caveats = Vec::new();
        while let Some((field, payload)) = reader.packet()? {
            if field != 2 {
                return Err("unmarshal v2: caveat identifier not found".into());
            }
            caveats.push(payload.to_vec());
            while let Some((field, _)) = reader.packet()? {
                if field == 4 {
                    // A verification id: a third-party caveat, which lnd never issues.
                    return Err("caveat not recognized".into());
                }
            }
        }
        let (field, payload) = reader
            .packet()?
            .ok_or("unmarshal v2: signature not found")?;
        if field != 6 {
            return Err("unmarshal v2: signature not found".into());
        }
        let signature: [u8; 32] = payload
            .try_into()
            .map_err(|_| "unmarshal v2: signature has unexpected length".to_owned())?;
        Ok(Self {
            identifier,
            caveats,
            signature,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![2];
        packet(&mut out, 1, LOCATION);
        packet(&mut out, 2, &self.identifier);
        out.push(0);
        for caveat in &self.caveats {
            packet(&mut out, 2, caveat);
            out.push(0);
        }
        out.push(0);
        packet(&mut out, 6, &self.signature);
        out
    }
}

/// Checks a hex macaroon from request metadata for `method`, called from `peer`. The error is
/// lnd's message for the same failure (all gRPC code Unknown).
pub fn verify(
    root_key: &[u8; 32],
    macaroon_hex: &str,
    method: &str,
    peer: Option<IpAddr>,
    now_micros: i64,
) -> Result<(), String> {
    let bytes = wallet_core::hex::decode(macaroon_hex).map_err(|err| match err {
        wallet_core::hex::HexError::InvalidDigit(position) => {
            let digit = macaroon_hex
                .get(position..)
                .and_then(|rest| rest.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            format!(
                "encoding/hex: invalid byte: U+{:04X} {digit:?}",
                u32::from(digit)
            )
        }
        _ => "encoding/hex: odd length hex string".to_owned(),
    })?;
    let parsed = Parsed::decode(&bytes)?;
    if parsed.identifier.first() != Some(&BAKERY_V3) {
        return Err("invalid ID".into());
    }
    let id = MacaroonId::decode(&parsed.identifier[1..]).map_err(|_| "invalid ID".to_owned())?;
    if id.storage_id != ROOT_KEY_ID {
        return Err(format!(
            "cannot retrieve macaroon: cannot get macaroon: root key with id {} doesn't exist",
            String::from_utf8_lossy(&id.storage_id)
        ));
    }
    let mut signature = hmac(&derived_key(root_key), &parsed.identifier);
    for caveat in &parsed.caveats {
        check_caveat(&String::from_utf8_lossy(caveat), peer, now_micros)?;
        signature = hmac(&signature, caveat);
    }
    if signature != parsed.signature {
        return Err("verification failed: signature mismatch after caveat verification".into());
    }
    let Some(needed) = required_permission(method) else {
        return Err(format!("{method}: unknown permissions required for method"));
    };
    let permitted = id.ops.iter().any(|op| {
        (op.entity == needed.entity && op.actions.iter().any(|action| action == needed.action))
            || (op.entity == "uri" && op.actions.iter().any(|action| action == method))
    });
    if permitted {
        Ok(())
    } else {
        Err("permission denied".into())
    }
}

fn check_caveat(caveat: &str, peer: Option<IpAddr>, now_micros: i64) -> Result<(), String> {
    let (condition, argument) = caveat.split_once(' ').unwrap_or((caveat, ""));
    let unsatisfied = |why: &str| format!("caveat {caveat:?} not satisfied: {why}");
    match condition {
        "time-before" => match wallet_core::time::parse_rfc3339_micros(argument) {
            Some(deadline) if now_micros < deadline => Ok(()),
            Some(_) => Err(unsatisfied("macaroon has expired")),
            None => Err(unsatisfied("cannot parse time")),
        },
        "ipaddr" => match (argument.parse::<IpAddr>(), peer) {
            (Ok(locked), Some(peer)) if locked == peer => Ok(()),
            _ => Err(unsatisfied("macaroon locked to different IP address")),
        },
        _ => Err(unsatisfied("caveat not recognized")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: [u8; 32] = [7; 32];
    const NOW: i64 = 1_795_926_309_000_000;

    fn admin() -> Vec<u8> {
        mint(&ROOT, [1; 16], ADMIN)
    }

    fn check(macaroon: &[u8], method: &str) -> Result<(), String> {
        verify(
            &ROOT,
            &wallet_core::hex::encode(macaroon),
            method,
            None,
            NOW,
        )
    }

    #[test]
    fn a_minted_macaroon_has_lnds_v2_layout() {
        let macaroon = admin();
        assert_eq!(&macaroon[..7], &[2, 1, 3, b'l', b'n', b'd', 2]);
        assert_eq!(macaroon[macaroon.len() - 34], 6);
        assert_eq!(macaroon[macaroon.len() - 33], 32);
    }

    #[test]
    fn the_admin_macaroon_passes_and_an_invoice_macaroon_cannot_pay() {
        assert_eq!(check(&admin(), "/routerrpc.Router/SendPaymentV2"), Ok(()));
        let invoice = mint(&ROOT, [2; 16], INVOICE);
        assert_eq!(check(&invoice, "/lnrpc.Lightning/AddInvoice"), Ok(()));
        assert_eq!(
            check(&invoice, "/routerrpc.Router/SendPaymentV2"),
            Err("permission denied".into())
        );
    }

    #[test]
    fn another_root_key_is_a_signature_mismatch() {
        let foreign = mint(&[8; 32], [1; 16], ADMIN);
        assert_eq!(
            check(&foreign, "/lnrpc.Lightning/GetInfo"),
            Err("verification failed: signature mismatch after caveat verification".into())
        );
    }

    #[test]
    fn lncli_style_time_caveats_are_honoured() {
        let fresh = add_caveat(&admin(), "time-before 2026-11-29T05:00:00.123456789Z").unwrap();
        assert_eq!(check(&fresh, "/lnrpc.Lightning/GetInfo"), Ok(()));
        let stale = add_caveat(&admin(), "time-before 2026-11-29T04:00:00Z").unwrap();
        assert_eq!(
            check(&stale, "/lnrpc.Lightning/GetInfo"),
            Err(
                "caveat \"time-before 2026-11-29T04:00:00Z\" not satisfied: macaroon has expired"
                    .into()
            )
        );
        let odd = add_caveat(&admin(), "colour blue").unwrap();
        assert!(
            check(&odd, "/lnrpc.Lightning/GetInfo")
                .unwrap_err()
                .ends_with("caveat not recognized")
        );
    }

    #[test]
    fn a_caveat_added_without_the_key_breaks_the_signature() {
        let mut forged = admin();
        // Append a caveat but keep the old signature.
        let signature = forged.split_off(forged.len() - 34);
        forged.pop();
        forged.extend([2, 4]);
        forged.extend(b"x y ");
        forged.extend([0, 0]);
        forged.extend(signature);
        let err = check(&forged, "/lnrpc.Lightning/GetInfo").unwrap_err();
        assert!(
            err.contains("not satisfied") || err.contains("signature mismatch"),
            "{err}"
        );
    }

    #[test]
    fn garbage_gets_lnds_messages() {
        assert_eq!(
            verify(&ROOT, "zz", "/lnrpc.Lightning/GetInfo", None, NOW),
            Err("encoding/hex: invalid byte: U+007A 'z'".into())
        );
        assert_eq!(
            verify(&ROOT, "abc", "/lnrpc.Lightning/GetInfo", None, NOW),
            Err("encoding/hex: odd length hex string".into())
        );
        assert_eq!(
            verify(&ROOT, "", "/lnrpc.Lightning/GetInfo", None, NOW),
            Err("empty macaroon data".into())
        );
        assert_eq!(
            verify(&ROOT, "0201", "/lnrpc.Lightning/GetInfo", None, NOW),
            Err("unmarshal v2: section extends past end of buffer".into())
        );
        assert_eq!(
            check(&admin(), "/lnrpc.Lightning/Nope"),
            Err("/lnrpc.Lightning/Nope: unknown permissions required for method".into())
        );
    }
}

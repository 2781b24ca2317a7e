//! LNbits' payment records and the queries this crate makes of them.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use wallet_core::{PaymentHash, Preimage, Secret, WalletError};

use crate::http::{Api, lnbits_error};
use wallet_core::time::parse_rfc3339_micros;

/// The memo LNbits gives an admin top-up (`PUT /users/api/v1/balance`): money credited to the
/// wallet, not an invoice anyone paid.
pub(crate) const TOP_UP_MEMO: &str = "Admin credit";

/// One payment record, incoming (`amount > 0`) or outgoing, as LNbits returns it. Amounts and
/// fees are msat; outgoing amounts and fees are negative.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PaymentRecord {
    pub(crate) payment_hash: String,
    pub(crate) amount: i64,
    /// Absent in a record means unreadable, never zero.
    #[serde(default)]
    pub(crate) fee: Option<i64>,
    #[serde(default)]
    pub(crate) bolt11: Option<String>,
    #[serde(default)]
    pub(crate) payment_request: Option<String>,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) memo: Option<String>,
    #[serde(default)]
    pub(crate) preimage: Option<String>,
    #[serde(default)]
    pub(crate) updated_at: Option<String>,
    #[serde(default)]
    pub(crate) time: Option<String>,
    /// When the invoice expires (LNbits writes it with or without an offset; UTC either way).
    #[serde(default)]
    pub(crate) expiry: Option<String>,
    #[serde(default)]
    pub(crate) labels: Vec<String>,
    #[serde(default)]
    pub(crate) extra: Value,
}

impl PaymentRecord {
    /// The invoice, under its 1.x name or its pre-1.0 one.
    pub(crate) fn invoice(&self) -> Option<&str> {
        self.bolt11.as_deref().or(self.payment_request.as_deref())
    }

    pub(crate) fn hash(&self) -> Option<PaymentHash> {
        PaymentHash::from_hex(&self.payment_hash).ok()
    }

    pub(crate) fn preimage(&self) -> Option<Preimage> {
        self.preimage
            .as_deref()
            .and_then(|hex| Preimage::from_hex(hex).ok())
    }

    /// When the record last changed (for a paid invoice: when it was paid), in microseconds.
    pub(crate) fn updated_micros(&self) -> Option<i64> {
        self.updated_at
            .as_deref()
            .or(self.time.as_deref())
            .and_then(parse_rfc3339_micros)
    }

    /// When the invoice expires, in microseconds, when the record says.
    pub(crate) fn expiry_micros(&self) -> Option<i64> {
        self.expiry.as_deref().and_then(parse_rfc3339_micros)
    }

    /// An incoming payment that settled, other than an admin top-up.
    pub(crate) fn is_paid_invoice(&self) -> bool {
        self.amount > 0 && self.status == "success" && self.memo.as_deref() != Some(TOP_UP_MEMO)
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<PaymentRecord>,
    /// How many records match, when LNbits says.
    #[serde(default)]
    total: Option<u64>,
}

/// Which side of a payment hash to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The invoice this wallet issued (amount > 0).
    Incoming,
    /// The payment this wallet made (amount < 0).
    Outgoing,
}

/// The most records one page asks for.
pub(crate) const PAGE: usize = 100;

/// The most pages of pending invoices one re-check asks LNbits about (each asks its node about
/// every pending invoice on it).
const MAX_RECHECK_PAGES: usize = 10;

/// The query for page `page` of the pending-invoice re-check: newest first.
fn recheck_filters(page: usize) -> [(&'static str, String); 7] {
    [
        ("status", "pending".to_owned()),
        ("amount[gt]", "0".to_owned()),
        ("recheck_pending", "true".to_owned()),
        ("sortby", "time".to_owned()),
        ("direction", "desc".to_owned()),
        ("limit", PAGE.to_string()),
        ("offset", page.saturating_mul(PAGE).to_string()),
    ]
}

/// Asks for pages `0..max_pages` (`fetch` answers how many records a page had) until a short
/// one; how many were asked for.
async fn pages_until_short<Fetched>(
    max_pages: usize,
    mut fetch: impl FnMut(usize) -> Fetched,
) -> Result<usize, WalletError>
where
    Fetched: std::future::Future<Output = Result<usize, WalletError>>,
{
    for page in 0..max_pages {
        if fetch(page).await? < PAGE {
            return Ok(page + 1);
        }
    }
    Ok(max_pages)
}

impl Api {
    /// One page of this wallet's payments matching `filters`.
    async fn page(
        &self,
        key: &Secret<String>,
        filters: &[(&str, String)],
        deadline: std::time::Duration,
    ) -> Result<(Vec<PaymentRecord>, Option<u64>), WalletError> {
        let mut url = self.url("/api/v1/payments/paginated")?;
        url.query_pairs_mut()
            .extend_pairs(filters.iter().map(|(name, value)| (*name, value.as_str())));
        let reply = self
            .call(Method::GET, url, Some(key), None, deadline)
            .await
            .map_err(lnbits_error)?;
        let page: Page = serde_json::from_value(reply.body).map_err(|err| {
            WalletError::backend(
                None,
                format!(
                    "unreadable payment list from LNbits: {}",
                    wallet_core::untrusted::server_text(&err.to_string())
                ),
            )
        })?;
        Ok((page.data, page.total))
    }

    /// This wallet's records of `payment_hash` on one side, after LNbits re-checked pending ones
    /// (which also marks expired invoices).
    pub(crate) async fn records(
        &self,
        key: &Secret<String>,
        payment_hash: &PaymentHash,
        side: Side,
        deadline: std::time::Duration,
    ) -> Result<Vec<PaymentRecord>, WalletError> {
        let sign = match side {
            Side::Incoming => "amount[gt]",
            Side::Outgoing => "amount[lt]",
        };
        let filters = [
            ("payment_hash", payment_hash.to_hex()),
            (sign, "0".to_owned()),
            ("recheck_pending", "true".to_owned()),
            ("limit", PAGE.to_string()),
        ];
        Ok(self.page(key, &filters, deadline).await?.0)
    }

    /// Asks LNbits to re-check this wallet's pending invoices with its funding source, so that
    /// anything paid while nobody listened is marked paid.
    pub(crate) async fn recheck_pending_invoices(
        &self,
        key: &Secret<String>,
        deadline: std::time::Duration,
    ) -> Result<(), WalletError> {
        // Newest first, page by page: one page would leave which 100 invoices get re-checked to
        // the database. Invoices marked paid meanwhile leave the filter and shift the pages, so a
        // pass may skip one; the next pass (every 15 s) catches it.
        pages_until_short(MAX_RECHECK_PAGES, |page| async move {
            let (records, _) = self.page(key, &recheck_filters(page), deadline).await?;
            Ok(records.len())
        })
        .await
        .map(|_| ())
    }

    /// Paid invoices of this wallet, newest change first, one page at `offset`; and how many
    /// there are in all.
    pub(crate) async fn paid_invoices_page(
        &self,
        key: &Secret<String>,
        offset: u64,
        deadline: std::time::Duration,
    ) -> Result<(Vec<PaymentRecord>, Option<u64>), WalletError> {
        let filters = [
            ("status", "success".to_owned()),
            ("amount[gt]", "0".to_owned()),
            ("sortby", "updated_at".to_owned()),
            ("direction", "desc".to_owned()),
            ("limit", PAGE.to_string()),
            ("offset", offset.to_string()),
        ];
        self.page(key, &filters, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: Value) -> PaymentRecord {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_settled_incoming_payments_other_than_top_ups_are_paid_invoices() {
        let paid = record(serde_json::json!({
            "payment_hash": "00", "amount": 1000, "status": "success", "memo": "coffee"
        }));
        assert!(paid.is_paid_invoice());
        let top_up = record(serde_json::json!({
            "payment_hash": "00", "amount": 1000, "status": "success", "memo": "Admin credit"
        }));
        assert!(!top_up.is_paid_invoice());
        let outgoing = record(serde_json::json!({
            "payment_hash": "00", "amount": -1000, "status": "success"
        }));
        assert!(!outgoing.is_paid_invoice());
        let pending = record(serde_json::json!({
            "payment_hash": "00", "amount": 1000, "status": "pending"
        }));
        assert!(!pending.is_paid_invoice());
    }

    #[test]
    fn the_invoice_falls_back_to_the_pre_1_0_name() {
        let old = record(serde_json::json!({
            "payment_hash": "00", "amount": 1, "status": "pending", "payment_request": "lnbc1"
        }));
        assert_eq!(old.invoice(), Some("lnbc1"));
    }

    #[tokio::test]
    async fn the_pending_recheck_pages_newest_first_and_stops_at_a_short_page_or_its_bound() {
        let filters = recheck_filters(2);
        assert!(filters.contains(&("direction", "desc".to_owned())));
        assert!(filters.contains(&("sortby", "time".to_owned())));
        assert!(filters.contains(&("offset", (2 * PAGE).to_string())));
        assert!(filters.contains(&("recheck_pending", "true".to_owned())));

        let full_forever = pages_until_short(MAX_RECHECK_PAGES, |_| async { Ok(PAGE) }).await;
        assert_eq!(full_forever.unwrap(), MAX_RECHECK_PAGES);
        let short_third = pages_until_short(MAX_RECHECK_PAGES, |page| async move {
            Ok(if page == 2 { 7 } else { PAGE })
        })
        .await;
        assert_eq!(short_third.unwrap(), 3);
        let failing = pages_until_short(MAX_RECHECK_PAGES, |_| async {
            Err(WalletError::unavailable("down"))
        })
        .await;
        assert!(failing.is_err());
    }
}

"""cln-sim driven by pyln-client, Core Lightning's own Python client, which nobody here wrote.

Run by `cargo xtask cln-interop` with the sockets of two simulated nodes (carol, dave) of one
network. Each check asserts lightningd's answer shapes and codes; the last line says
`N passed, N failed`, and the exit status is non-zero unless every check passed.
"""

import re
import sys
import traceback

from pyln.client import LightningRpc, RpcError

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX66 = re.compile(r"^(02|03)[0-9a-f]{64}$")


def expect_error(call, code):
    try:
        call()
    except RpcError as err:
        assert err.error["code"] == code, f"expected code {code}, got {err.error}"
        return err.error
    raise AssertionError(f"expected an error with code {code}, got a result")


def main(carol_socket, dave_socket):
    carol = LightningRpc(carol_socket)
    dave = LightningRpc(dave_socket)
    state = {}

    def getinfo():
        info = carol.getinfo()
        assert HEX66.match(info["id"]), info
        assert info["network"] == "regtest", info
        assert isinstance(info["blockheight"], int), info
        assert isinstance(info["alias"], str), info

    def help_invoice():
        answer = carol.help("invoice")
        assert answer["format-hint"] == "simple", answer
        [entry] = answer["help"]
        assert entry["command"].startswith("invoice amount_msat label description"), entry

    def help_lists_every_command():
        commands = {entry["command"].split()[0] for entry in carol.help()["help"]}
        for name in ("getinfo", "invoice", "listinvoices", "waitanyinvoice", "xpay", "pay",
                     "listpays"):
            assert name in commands, (name, commands)

    def help_of_an_unknown_command():
        expect_error(lambda: carol.help("frobnicate"), -32601)

    def invoice():
        created = carol.invoice(1000, "pyln-1", "interop")
        assert created["bolt11"].startswith("lnbcrt"), created
        assert HEX64.match(created["payment_hash"]), created
        assert HEX64.match(created["payment_secret"]), created
        assert isinstance(created["expires_at"], int), created
        assert isinstance(created["created_index"], int), created
        state["first"] = created

    def duplicate_label():
        expect_error(lambda: carol.invoice(1000, "pyln-1", "again"), 900)

    def listinvoices_unpaid():
        [listed] = carol.listinvoices("pyln-1")["invoices"]
        assert listed["label"] == "pyln-1", listed
        assert listed["status"] == "unpaid", listed
        assert listed["amount_msat"] == 1000, listed
        assert listed["payment_hash"] == state["first"]["payment_hash"], listed

    def xpay():
        paid = dave.xpay(state["first"]["bolt11"])
        assert HEX64.match(paid["payment_preimage"]), paid
        assert paid["amount_msat"] == 1000, paid
        assert paid["amount_sent_msat"] >= 1000, paid
        assert paid["successful_parts"] >= 1, paid

    def waitanyinvoice():
        paid = carol.waitanyinvoice(lastpay_index=0, timeout=10)
        assert paid["label"] == "pyln-1", paid
        assert paid["status"] == "paid", paid
        assert paid["pay_index"] == 1, paid
        assert paid["amount_received_msat"] == 1000, paid
        assert HEX64.match(paid["payment_preimage"]), paid

    def waitanyinvoice_times_out_with_904():
        expect_error(lambda: carol.waitanyinvoice(lastpay_index=1, timeout=1), 904)

    def listpays():
        [entry] = dave.listpays(payment_hash=state["first"]["payment_hash"])["pays"]
        assert entry["status"] == "complete", entry
        assert HEX64.match(entry["preimage"]), entry
        assert entry["amount_sent_msat"] >= 1000, entry

    def xpay_again_is_219():
        expect_error(lambda: dave.xpay(state["first"]["bolt11"]), 219)

    def pay_answers_in_pays_shape():
        second = carol.invoice(2000, "pyln-2", "interop via pay")
        paid = dave.pay(second["bolt11"])
        assert paid["status"] == "complete", paid
        assert paid["payment_hash"] == second["payment_hash"], paid
        assert HEX64.match(paid["payment_preimage"]), paid

    def listinvoices_paid():
        [listed] = carol.listinvoices(payment_hash=state["first"]["payment_hash"])["invoices"]
        assert listed["status"] == "paid", listed
        assert listed["pay_index"] == 1, listed
        assert isinstance(listed["updated_index"], int), listed

    checks = [getinfo, help_invoice, help_lists_every_command, help_of_an_unknown_command,
              invoice, duplicate_label, listinvoices_unpaid, xpay, waitanyinvoice,
              waitanyinvoice_times_out_with_904, listpays, xpay_again_is_219,
              pay_answers_in_pays_shape, listinvoices_paid]
    passed = failed = 0
    for check in checks:
        try:
            check()
            passed += 1
            print(f"    {check.__name__}: pass")
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"    {check.__name__}: FAIL")
            traceback.print_exc()
    print(f"pyln-client interop: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

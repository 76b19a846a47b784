import PointsLedger
import Testing

@Suite("Error messages: one line, the values in them escaped")
struct LedgerErrorTextTests {
    @Test func errorDescriptionsAreOneLineWithTheirValuesEscaped() {
        let key = "k\u{1B}[31m\nforged line\u{202E}"
        #expect(LedgerError.idempotencyConflict(key: key, existing: .entry(7)).description
            == #"Idempotency conflict: key "k\u{1B}[31m\u{0A}forged line\u{202E}" was already used by entry 7 with different content; use a new key for a new operation."#)
        #expect(LedgerError.notFound(.member, id: "m\u{9B}1").description.hasPrefix(#"Member "m\u{9B}1" does not exist"#))
        #expect(LedgerError.invalidInput(field: "file", reason: "a\rb\u{2028}c").description == #"Invalid file: a\u{0D}b\u{2028}c."#)
        #expect(LedgerError.refused(.outOfStock(reward: "x\u{7}", left: 0, requested: 1)).description
            == #"Reward x\u{07} is out of stock: 0 left, 1 asked for."#)
        #expect(LedgerError.refused(.busy(detail: "a\nb")).description == #"a\u{0A}b."#)
        // libpq's own layout (a hint on an indented line) becomes sentences on one line.
        #expect(LedgerError.unreachable(reason: "connection failed: No such file\n\tIs the server running?").description
            == "Cannot reach the database: connection failed: No such file. Is the server running?")
        let errors: [LedgerError] = [
            .invalidInput(field: "f\n", reason: "r\u{1B}"), .notFound(.program, id: "p\n"), .programConflict(name: "p\n", currency: "c\n", timeZone: "t\n"),
            .notFound(.member, id: "m\n"), .insufficientPoints(member: "m\n", spendable: 1, requested: 2), .refused(.busy(detail: "a\nb")), .refused(.journalIncomplete(detail: "a\nb")), .notFound(.order, id: "o\n"),
            .idempotencyConflict(key: "k\n", existing: .entry(1)), .amountOutOfRange(field: "f\n"), .migrationEdited(fileName: "f\n"),
            .migrationUnknown(fileName: "f\n"), .migrationFailed(fileName: "f\n", reason: "r\n"), .permissionDenied(reason: "r\n"),
            .unreachable(reason: "r\u{1B}\nIs it?"),
        ]
        for error in errors {
            #expect(!error.description.contains(where: { $0.isNewline || $0 == "\u{1B}" }), "\(error.description)")
        }
    }
}

@Suite("Refusals: each reason a caller can match, in words")
struct RefusalTextTests {
    @Test func eachRefusalSaysWhatFailedWithItsFigures() {
        let cases: [(Refusal, String)] = [
            (.outOfStock(reward: "mug", left: 1, requested: 2), "Reward mug is out of stock: 1 left, 2 asked for"),
            (.tierTooLow(reward: "gala", member: "m1", memberTier: "ordinary", minimumTier: "premium"),
             "Reward gala is for tier premium and above; member \"m1\" is ordinary"),
            (.limitReached(reward: "cap", member: "m1", redeemed: 2, limit: 2, requested: 1),
             "Member \"m1\" has reached the limit of reward cap: redeemed 2 of 2, 1 more asked for"),
            (.holdResolved(hold: 7, state: .captured, captured: 50), "Hold 7 was captured (50 points); a hold resolves only once"),
            (.holdResolved(hold: 7, state: .voided, captured: nil), "Hold 7 was voided; a hold resolves only once"),
            (.holdResolved(hold: 7, state: .expired, captured: nil), "Hold 7 expired; a hold resolves only once"),
            (.exceedsHold(hold: 7, requested: 90, reserved: 80), "Hold 7 reserves 80 points, fewer than the 90 to capture"),
            (.exceedsOrder(
                order: "o1", requested: Money(minorUnits: 5000, exponent: 2), left: Money(minorUnits: 4000, exponent: 2),
                amount: Money(minorUnits: 10000, exponent: 2), refunded: Money(minorUnits: 6000, exponent: 2)),
             "A refund of 50.00 is more than what is left of order o1: 40.00 of 100.00 (60.00 refunded)"),
        ]
        for (refusal, text) in cases {
            #expect(refusal.description == text)
            #expect(LedgerError.refused(refusal).description == text + ".")
        }
    }
}

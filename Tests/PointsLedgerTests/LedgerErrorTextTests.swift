import PointsLedger
import Testing

@Suite("Error messages: one line, the values in them escaped")
struct LedgerErrorTextTests {
    @Test func errorDescriptionsAreOneLineWithTheirValuesEscaped() {
        let key = "k\u{1B}[31m\nforged line\u{202E}"
        #expect(LedgerError.idempotencyConflict(key: key, entryID: 7).description
            == #"Idempotency conflict: key "k\u{1B}[31m\u{0A}forged line\u{202E}" was already used by entry 7 with different content; use a new key for a new operation."#)
        #expect(LedgerError.memberNotFound(member: "m\u{9B}1").description.hasPrefix(#"Member "m\u{9B}1" does not exist"#))
        #expect(LedgerError.invalidInput(field: "file", reason: "a\rb\u{2028}c").description == #"Invalid file: a\u{0D}b\u{2028}c."#)
        #expect(LedgerError.refused(reason: "reward \"x\u{7}\" is out of stock\n").description == #"reward "x\u{07}" is out of stock."#)
        // libpq's own layout (a hint on an indented line) becomes sentences on one line.
        #expect(LedgerError.unreachable(reason: "connection failed: No such file\n\tIs the server running?").description
            == "Cannot reach the database: connection failed: No such file. Is the server running? "
                + "Check --database-url (or the PG* variables) and that the server is running.")
        let errors: [LedgerError] = [
            .invalidInput(field: "f\n", reason: "r\u{1B}"), .programNotFound(name: "p\n"), .programConflict(name: "p\n", currency: "c\n", timeZone: "t\n"),
            .memberNotFound(member: "m\n"), .insufficientPoints(member: "m\n", spendable: 1, requested: 2), .refused(reason: "a\nb"),
            .idempotencyConflict(key: "k\n", entryID: 1), .amountOutOfRange(field: "f\n"), .migrationEdited(fileName: "f\n"),
            .migrationUnknown(fileName: "f\n"), .migrationFailed(fileName: "f\n", reason: "r\n"), .permissionDenied(reason: "r\n"),
            .unreachable(reason: "r\u{1B}\nIs it?"),
        ]
        for error in errors {
            #expect(!error.description.contains(where: { $0.isNewline || $0 == "\u{1B}" }), "\(error.description)")
        }
    }
}

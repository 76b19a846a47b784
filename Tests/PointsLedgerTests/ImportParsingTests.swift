import Foundation
@testable import PointsLedger
import Postgres
import Testing

@Suite("Import files: lines, JSON objects, CSV fields, times")
struct ImportParsingTests {
    func lines(_ bytes: [UInt8], maximumLength: Int = 16) throws -> [String] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var reader = LineReader(handle: try FileHandle(forReadingFrom: url), maximumLength: maximumLength)
        var out: [String] = []
        while let line = try reader.next() {
            switch line {
            case .text(let text): out.append(text)
            case .tooLong(let bytes): out.append("<too long: \(bytes)>")
            case .notUTF8(let offset, let value): out.append("<not UTF-8: byte \(offset) is \(value)>")
            }
        }
        return out
    }

    @Test func linesAreSplitAndCheckedWithoutHoldingLongOnes() throws {
        #expect(try lines(Array("a\nb\r\n\nlast".utf8)) == ["a", "b", "", "last"])
        #expect(try lines(Array("a\n".utf8)) == ["a"])
        #expect(try lines([]) == [])
        #expect(try lines(Array("short\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 200_000) + Array("\nnext".utf8))
            == ["short", "<too long: 200000>", "next"])
        #expect(try lines(Array("ok\n".utf8) + [0xFF, 0xFE] + Array("\nfine".utf8)) == ["ok", "<not UTF-8: byte 1 is 255>", "fine"])
        // A truncated sequence, an encoded surrogate, an over-long encoding: each named at its first byte.
        #expect(try lines(Array("é".utf8) + [0x61, 0xC3]) == ["<not UTF-8: byte 4 is 195>"])
        #expect(try lines([0x61, 0x62, 0xED, 0xA0, 0x80]) == ["<not UTF-8: byte 3 is 237>"])
        #expect(try lines([0xC0, 0xAF]) == ["<not UTF-8: byte 1 is 192>"])
        #expect(try lines(Array(repeating: UInt8(ascii: "y"), count: 100_000)) == ["<too long: 100000>"])
    }

    @Test func aByteOrderMarkIsDroppedAtTheStartOnly() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try lines(bom + Array("a\n".utf8) + bom + Array("b".utf8)) == ["a", "\u{FEFF}b"])
        #expect(try lines(bom) == [""])
        #expect(try lines(bom + bom + Array("c".utf8)) == ["\u{FEFF}c"])
    }

    @Test func theFormatComesFromTheNameElseFromTheFirstSignificantByte() throws {
        #expect(ImportFormat(fileName: "/data/day.jsonl") == .jsonLines)
        #expect(ImportFormat(fileName: "day.NDJSON") == .jsonLines)
        #expect(ImportFormat(fileName: "day.json") == .jsonLines)
        #expect(ImportFormat(fileName: "exports.v2/Day.CSV") == .csv)
        #expect(ImportFormat(fileName: "day.txt") == nil)
        #expect(ImportFormat(fileName: "day") == nil)
        func first(_ bytes: [UInt8]) throws -> (byte: UInt8?, lines: [String]) {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
            try Data(bytes).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            var reader = LineReader(handle: try FileHandle(forReadingFrom: url), maximumLength: 16)
            let byte = try reader.firstSignificantByte()
            var lines: [String] = []
            while let line = try reader.next() {
                if case .text(let text) = line { lines.append(text) } else { lines.append("<\(line)>") }
            }
            return (byte, lines)
        }
        // One line far longer than the reader keeps is still seen to start with {, and is then read as before.
        let long = try first(Array("{\"a\": \"".utf8) + Array(repeating: UInt8(ascii: "x"), count: 200_000) + Array("\"}\n{}".utf8))
        #expect(long.byte == UInt8(ascii: "{"))
        #expect(long.lines == ["<tooLong(bytes: 200009)>", "{}"])
        #expect(try first([0xEF, 0xBB, 0xBF] + Array(" \r\n\t{}".utf8)).byte == UInt8(ascii: "{"))
        #expect(try first(Array("order_id,member".utf8)).byte == UInt8(ascii: "o"))
        #expect(try first([0xEF, 0xBB]).byte == 0xEF)
        #expect(try first(Array(repeating: UInt8(ascii: " "), count: 40) + Array("{}".utf8)).byte == nil)
        #expect(try first(Array(" \n".utf8)) == (nil, [" "]))
        #expect(try first([]) == (nil, []))
    }

    @Test func jsonObjectsKeepNumbersExact() throws {
        let object = try FlatJSON.parseObject(#"{"amount": 12.345678901234567890, "member": "m\u00e9\"1", "x": null, "ok": true}"#)
        #expect(object["amount"] == .number("12.345678901234567890"))
        #expect(object["member"] == .string("mé\"1"))
        #expect(object["x"] == .null)
        #expect(object["ok"] == .bool(true))
        #expect(try FlatJSON.parseObject(#"{"s": "\ud83c\udf89 \/ \t"}"#)["s"] == .string("🎉 / \t"))
        #expect(try FlatJSON.parseObject("  { }  ") == [:])
        #expect(try FlatJSON.parseObject(#"{"s": "héllo \\ wörld\n", "t": "plain"}"#) == ["s": .string("héllo \\ wörld\n"), "t": .string("plain")])
        #expect(throws: FlatJSON.SyntaxError.self) { try FlatJSON.parseObject("{\"s\": \"tab\there\"}") }
        for broken in [#"{"a": 1"#, #"{"a" 1}"#, #"{"a": 01}"#, #"{"a": [1]}"#, #"{"a": {"b": 1}}"#, #"{"a": 1, "a": 2}"#,
                       #"{"a": "\x"}"#, #"{"a": "\ud83c"}"#, #"{"a": 1} trailing"#, "[1]", #"{"a": tru}"#, #"{"a": 1.}"#] {
            #expect(throws: FlatJSON.SyntaxError.self, "\(broken)") { try FlatJSON.parseObject(broken) }
        }
    }

    @Test func csvFieldsFollowRFC4180Quoting() throws {
        #expect(try CSVLine.fields("a,b,,d") == ["a", "b", "", "d"])
        #expect(try CSVLine.fields(#""a, b","say ""hi""",c"#) == ["a, b", #"say "hi""#, "c"])
        #expect(try CSVLine.fields("") == [""])
        for broken in [#""open"#, #"a"b,c"#, #""a"b,c"#] {
            #expect(throws: CSVLine.SyntaxError.self, "\(broken)") { try CSVLine.fields(broken) }
        }
    }

    @Test func timesAreCheckedAndNormalised() {
        #expect(TimeText.normalise("2026-11-22T10:00:00+08:00") == "2026-11-22 10:00:00.000000+08:00")
        #expect(TimeText.normalise("2026-11-22 10:00:00.5Z") == "2026-11-22 10:00:00.500000Z")
        #expect(TimeText.normalise("2026-11-22 10:00") == "2026-11-22 10:00:00.000000")
        #expect(TimeText.normalise("2026-11-22") == "2026-11-22 00:00:00.000000")
        #expect(TimeText.normalise("2028-02-29T23:59:59.999999-05") == "2028-02-29 23:59:59.999999-05")
        #expect(!TimeText.hasZone(TimeText.normalise("2020-01-01")!))
        #expect(TimeText.hasZone(TimeText.normalise("2020-01-01T00:00Z")!))
        #expect(TimeText.hasZone(TimeText.normalise("2020-01-01T00:00-05")!))
        for bad in ["2026-02-29", "2026-02-30", "2026-13-01", "2026-11-22T24:00", "2026-11-22 10:60", "22/11/2026", "2026-11-22T10:00:00+25:00",
                    "2026-11-22T10:00:00.1234567", "", "now"] {
            #expect(TimeText.normalise(bad) == nil, "\(bad)")
        }
    }

    @Test func csvHeadersNeedEveryRequiredColumnAndNothingUnknown() throws {
        #expect(try ImportLines.columns("order_id, Member ,amount,occurred_at,referrer") == [.orderID, .member, .amount, .occurredAt, .referrer])
        #expect(throws: LedgerError.self) { try ImportLines.columns("order_id,member,amount") }
        #expect(throws: LedgerError.self) { try ImportLines.columns("order_id,member,amount,occurred_at,colour") }
        #expect(throws: LedgerError.self) { try ImportLines.columns("order_id,member,amount,occurred_at,member") }
    }

    @Test func deadlocksAreRetriedAndOtherErrorsAreNot() throws {
        var attempts = 0
        let deadlock = PostgresError(kind: .server, code: .deadlockDetected, message: "deadlock detected")
        let value = try ImportBatch.retryingTransientFailures {
            attempts += 1
            if attempts < 3 { throw deadlock }
            return 7
        }
        #expect(value == 7)
        #expect(attempts == 3)
        attempts = 0
        #expect(throws: PostgresError.self) {
            try ImportBatch.retryingTransientFailures { () throws -> Int in
                attempts += 1
                throw deadlock
            }
        }
        #expect(attempts == 5)
        attempts = 0
        #expect(throws: PostgresError.self) {
            try ImportBatch.retryingTransientFailures { () throws -> Int in
                attempts += 1
                throw PostgresError(kind: .server, code: .uniqueViolation, message: "duplicate key")
            }
        }
        #expect(attempts == 1)
    }
}

import PointsLedger
import Testing

@Suite("Money parses exactly, in the currency's minor units")
struct MoneyTests {
    @Test func amountsParseExactly() throws {
        #expect(try Money.parse("12.34", exponent: 2, field: "amount").minorUnits == 1234)
        #expect(try Money.parse("12.3", exponent: 2, field: "amount").minorUnits == 1230)
        #expect(try Money.parse("12", exponent: 2, field: "amount").minorUnits == 1200)
        #expect(try Money.parse("0.01", exponent: 2, field: "amount").minorUnits == 1)
        #expect(try Money.parse("1500", exponent: 0, field: "amount").minorUnits == 1500)
        #expect(try Money.parse("1.234", exponent: 3, field: "amount").minorUnits == 1234)
        #expect(try Money.parse("92233720368547758.07", exponent: 2, field: "amount").minorUnits == Int64.max)
    }

    @Test func malformedAmountsNameTheFieldAndTheProblem() {
        #expect(throws: LedgerError.invalidInput(field: "amount", reason: "\"12.345\" has 3 decimals; the program's currency has 2")) {
            try Money.parse("12.345", exponent: 2, field: "amount")
        }
        #expect(throws: LedgerError.invalidInput(field: "amount", reason: "\"1.5\" has 1 decimals; the program's currency has 0")) {
            try Money.parse("1.5", exponent: 0, field: "amount")
        }
        for text in ["", "-1.00", "1,00", "1.2.3", "abc", "1.", ".5", " 1", "1e3", "+1"] {
            #expect(throws: LedgerError.self, "\(text)") { try Money.parse(text, exponent: 2, field: "amount") }
        }
        #expect(throws: LedgerError.invalidInput(field: "amount", reason: "\"92233720368547758.08\" is too large")) {
            try Money.parse("92233720368547758.08", exponent: 2, field: "amount")
        }
        #expect(throws: LedgerError.invalidInput(field: "amount", reason: "\"92233720368547759\" is too large")) {
            try Money.parse("92233720368547759", exponent: 2, field: "amount")
        }
        #expect(throws: LedgerError.invalidInput(field: "amount", reason: "\"123456789012345678901234567890\" is too large")) {
            try Money.parse("123456789012345678901234567890", exponent: 0, field: "amount")
        }
        #expect(throws: LedgerError.self) { try Money.parse("١٢", exponent: 0, field: "amount") }
    }

    @Test func amountsPrintWithTheirDecimals() {
        #expect(Money(minorUnits: 1234, exponent: 2).description == "12.34")
        #expect(Money(minorUnits: 5, exponent: 2).description == "0.05")
        #expect(Money(minorUnits: -5, exponent: 3).description == "-0.005")
        #expect(Money(minorUnits: 1500, exponent: 0).description == "1500")
    }

    @Test func expiryPoliciesParse() throws {
        #expect(try ExpiryPolicy.parse("never") == .never)
        #expect(try ExpiryPolicy.parse("days 30") == .days(30))
        #expect(try ExpiryPolicy.parse("months 12") == .months(12))
        #expect(try ExpiryPolicy.parse("years 1") == .years(1))
        for text in ["", "weeks 2", "days", "days 0", "days -1", "months twelve", "never 1"] {
            #expect(throws: LedgerError.self, "\(text)") { try ExpiryPolicy.parse(text) }
        }
    }
}

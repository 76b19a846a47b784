import TestSupport
import Testing

/// points-server's command line, run as an operator starts it.
@Suite("points-server: its command line")
struct CommandLineTests {
    @Test func aUsageErrorExitsTwoAsInPointsAdmin() throws {
        let port = try PointsServerBinary.run(["--port", "99999"])
        #expect(port.status == 2, "\(port.stderr)")
        #expect(port.stderr.contains("--port must be from 0 to 65535"), "\(port.stderr)")
        let unknown = try PointsServerBinary.run(["--no-such-flag"])
        #expect(unknown.status == 2, "\(unknown.stderr)")
        let url = try PointsServerBinary.run(["--database-url", "postgresql://till:s3cret-pw@/ledger?sslmode=sometimes"])
        #expect(url.status == 2, "\(url.stderr)")
        #expect(url.stderr.contains("Invalid --database-url") && !url.stderr.contains("s3cret-pw"), "\(url.stderr)")
        let help = try PointsServerBinary.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("--database-url"))
    }

    @Test func aPasswordInTheDatabaseURLIsWarnedAboutAndNeverShown() throws {
        // It starts, warns, then cannot listen on an address that does not exist: exit 1.
        let output = try PointsServerBinary.run([
            "--database-url", "postgresql://till:s3cret-pw@/ledger?host=/nonexistent", "--host", "256.0.0.1", "--port", "0",
        ])
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("Warning: --database-url holds a password"), "\(output.stderr)")
        #expect(!(output.stdout + output.stderr).contains("s3cret-pw"), "\(output.stderr)")
    }
}

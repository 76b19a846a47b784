public import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import Postgres

/// A PostgreSQL cluster of a test's own (`Scripts/dev-db.sh` in a folder of its own), for a test
/// that stops and starts the database under a running client: the shared test server serves
/// every other test meanwhile.
public final class LocalCluster: Sendable {
    public let folder: String
    public let url: String

    private init(folder: String, url: String) {
        self.folder = folder
        self.url = url
    }

    /// Creates and starts a cluster with durable commits (a crash keeps what was acknowledged).
    public static func started() async throws -> LocalCluster {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("points-cluster-\(UUID().uuidString.prefix(8))").path
        let url = try await offThePool(["start", "--dir", folder]).trimmingCharacters(in: .whitespacesAndNewlines)
        return LocalCluster(folder: folder, url: url)
    }

    public var configuration: ConnectionConfiguration {
        get throws { try ConnectionConfiguration(url) }
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): every backend ends mid-command, as
    /// in a crash, and the next start recovers from the write-ahead log.
    public func stopImmediately() async throws {
        _ = try await Self.offThePool(["stop", "--dir", folder, "--immediate"])
    }

    /// Starts the server again and returns once it accepts connections.
    public func start() async throws {
        _ = try await Self.offThePool(["start", "--dir", folder])
    }

    /// `devDB` on a thread of its own: the script waits for the server for seconds, which must not
    /// hold one of the few threads every test's tasks share.
    private static func offThePool(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try devDB(arguments) }) }.start()
        }
    }

    /// Stops the server and removes its files.
    public func remove() {
        _ = try? Self.devDB(["stop", "--dir", folder, "--immediate"])
        let location = (try? String(contentsOfFile: folder + "/location", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let location { try? FileManager.default.removeItem(atPath: location) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The project's `Scripts/dev-db.sh`, run with `arguments`; its standard output.
    ///
    /// Its output goes to files, not pipes, and the script is reaped with `waitpid`: once it has
    /// started a server, Foundation's `waitUntilExit` misses its end, and a read of a pipe
    /// interrupted by the child's signal is a crash in Foundation.
    private static func devDB(_ arguments: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/dev-db.sh")
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("dev-db-\(UUID().uuidString)")
        let outPath = outputs.path + ".out"
        let errPath = outputs.path + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(process.processIdentifier, &status, 0) } while reaped < 0 && errno == EINTR
        let exitCode = reaped == process.processIdentifier ? (status >> 8) & 0xFF : process.terminationStatus
        guard exitCode == 0 else {
            let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw LocalClusterError(message: "dev-db.sh \(arguments.joined(separator: " ")) failed: \(errors)")
        }
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }
}

public struct LocalClusterError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

public import Foundation

/// Runs the built `points-admin` binary as a user would, capturing its output and exit code.
public struct CommandOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// `points-server` run as an operator starts it (for its command line; the server's routes are
/// tested in-process over real HTTP).
public enum PointsServerBinary {
    public static let url = PointsAdminBinary.built("points-server")

    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandOutput {
        try PointsAdminBinary.run(arguments, environment: environment, executable: url)
    }
}

public enum PointsAdminBinary {
    /// `points-admin` beside the test bundle in the build folder.
    public static let url = built("points-admin")

    /// The executable `name` beside the test bundle in the build folder.
    static func built(_ name: String) -> URL {
        let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = buildDirectory.appendingPathComponent(name)
        var directory = buildDirectory
        while !FileManager.default.isExecutableFile(atPath: candidate.path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
            candidate = directory.appendingPathComponent(name)
        }
        return candidate
    }

    /// Runs `points-admin` with `arguments`, an optional standard input, and extra environment.
    /// The terminal's width (`COLUMNS`) comes only from `environment`, so that tables print
    /// whole whatever the shell running the tests.
    public static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], executable: URL = url
    ) throws -> CommandOutput {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandOutput(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

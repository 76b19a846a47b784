#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ConnectionConfiguration {
    /// The same configuration, with the password read from a file: unlike a password in the
    /// connection string, it is not shown by `ps`. It overrides the string's password, `PGPASSWORD`
    /// and `~/.pgpass`.
    ///
    /// The file holds the password on one line; one trailing newline (LF or CRLF) is dropped.
    /// - Throws: `PostgresError` of kind `.invalidConfiguration` when the file cannot be read, is
    ///   a directory, is empty, has more than one line, holds a NUL byte, is larger than 64 KiB or
    ///   is not UTF-8 text. The message names the file, never its content.
    public func withPassword(fromFile path: String) throws(PostgresError) -> ConnectionConfiguration {
        var copy = self
        copy.password = try Self.readPassword(path)
        return copy
    }

    /// The most a password file may hold; anything longer is not a password.
    static let passwordFileLimit = 64 * 1024

    private static func readPassword(_ path: String) throws(PostgresError) -> String {
        func refuse(_ problem: String) -> PostgresError {
            PostgresError(kind: .invalidConfiguration, message: "\(path) \(problem); give a file that holds only the password, on one line")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw refuse("cannot be read (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw refuse("cannot be read (\(String(cString: strerror(errno))))") }
        guard status.st_mode & S_IFMT != S_IFDIR else { throw refuse("is a directory") }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= passwordFileLimit {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw refuse("cannot be read (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        guard bytes.count <= passwordFileLimit else { throw refuse("is larger than \(passwordFileLimit / 1024) KiB") }

        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw refuse("is empty") }
        guard !bytes.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
            throw refuse("has more than one line")
        }
        guard !bytes.contains(0) else { throw refuse("holds a NUL byte, which no password can") }
        guard let password = String(validating: bytes, as: UTF8.self) else { throw refuse("is not UTF-8 text") }
        return password
    }
}

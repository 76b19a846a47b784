public import Foundation

/// The input of an import: opening its path, and saying plainly why it cannot be read.
public enum ImportInput {
    /// Opens `path` for reading: a file, or anything else that reads as a stream (a pipe, a FIFO,
    /// a device). Opening a FIFO waits for its writer.
    /// - Throws: `.invalidInput(field: "file")` naming the path and what to do when it does not
    ///   exist, is a folder, or may not be read.
    public static func open(path: String) throws(LedgerError) -> FileHandle {
        let descriptor = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw problem(path, code: errno) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            Foundation.close(descriptor)
            throw problem(path, code: EISDIR)
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Why the input `name` cannot be opened or read (`code` is the `errno`), as a user reads it.
    /// - Parameter line: the last line read before the failure, 0 when none was.
    static func problem(_ name: String, code: Int32, afterLine line: Int = 0) -> LedgerError {
        let reason =
            switch code {
            case ENOENT: "\(name) does not exist; check the path, or give - to read standard input"
            case EISDIR: "\(name) is a folder, not a file; give the path of a JSON Lines or CSV file"
            case EACCES, EPERM: "\(name) may not be read (permission denied); check its permissions, or run as a user who may read it"
            case _ where line > 0:
                "\(name) could not be read after line \(line): \(String(cString: strerror(code))); "
                    + "run the import again once it can be read (what was posted is not posted twice)"
            default: "\(name) cannot be read: \(String(cString: strerror(code))); check the path"
            }
        return .invalidInput(field: "file", reason: reason)
    }
}

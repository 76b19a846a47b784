import Foundation

/// Reads a file (or standard input) line by line in constant memory, whatever its size.
///
/// Lines end with `\n` (a `\r` before it is dropped). A UTF-8 byte-order mark (EF BB BF) at the
/// start of the input is dropped, as editors on Windows write one; anywhere else it is text. A line
/// longer than `maximumLength` bytes is reported as `.tooLong` and skipped without ever being held
/// whole; a line that is not UTF-8 gives `.notUTF8` with its first bad byte, never text with
/// replacement characters (two different ids must not read as one).
struct LineReader {
    enum Line {
        case text(String)
        case tooLong(bytes: Int)
        /// `offset` (from 1) and `value` of the line's first byte that is not valid UTF-8.
        case notUTF8(offset: Int, value: UInt8)
    }

    /// The UTF-8 byte-order mark.
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// A failed read of the input (a folder given as a file, a disk error); `code` is the `errno`.
    struct ReadError: Error {
        let code: Int32
    }

    private let handle: FileHandle
    /// What one read fills, before its bytes join `buffer`.
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private let maximumLength: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// The number of the last line returned, from 1.
    private(set) var lineNumber = 0

    init(handle: FileHandle, maximumLength: Int = 1 << 16) {
        self.handle = handle
        self.maximumLength = maximumLength
    }

    /// The next line, or nil at the end of the input.
    mutating func next() throws(ReadError) -> Line? {
        var discarded = 0
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - start
                defer { start = newline + 1 }
                lineNumber += 1
                if discarded > 0 || length > maximumLength { return .tooLong(bytes: discarded + length) }
                return decode(buffer[start..<newline])
            }
            if atEnd {
                guard start < buffer.count || discarded > 0 else { return nil }
                lineNumber += 1
                defer { start = buffer.count }
                if discarded > 0 || buffer.count - start > maximumLength { return .tooLong(bytes: discarded + buffer.count - start) }
                return decode(buffer[start...])
            }
            // Keep at most one over-long line's worth of bytes: the rest is counted and dropped.
            if buffer.count - start > maximumLength {
                discarded += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            try fill()
        }
    }

    /// The first byte of the input that is not blank (space, tab, CR or LF), after a byte-order
    /// mark at the start: what tells JSON Lines (`{`) from CSV, however long the first line is.
    /// Nil when the input is blank, or its first `maximumLength` bytes are (so a blank start
    /// is never held whole). Reads ahead without taking anything: `next()` still starts at the
    /// first line. Call it before `next()`.
    mutating func firstSignificantByte() throws(ReadError) -> UInt8? {
        precondition(lineNumber == 0, "the first significant byte is looked for before the first line is read")
        while buffer.count < Self.byteOrderMark.count, !atEnd { try fill() }
        var index = buffer.starts(with: Self.byteOrderMark) ? Self.byteOrderMark.count : 0
        while true {
            while index < buffer.count {
                guard index < maximumLength else { return nil }
                let byte = buffer[index]
                guard byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A else { return byte }
                index += 1
            }
            guard !atEnd else { return nil }
            try fill()
        }
    }

    /// Appends the next chunk of the input to the buffer, or notes its end.
    private mutating func fill() throws(ReadError) {
        let descriptor = handle.fileDescriptor
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                return
            }
            if count == 0 {
                atEnd = true
                return
            }
            guard errno == EINTR else { throw ReadError(code: errno) }
        }
    }

    private func decode(_ bytes: ArraySlice<UInt8>) -> Line {
        var bytes = bytes
        if lineNumber == 1, bytes.starts(with: Self.byteOrderMark) { bytes = bytes.dropFirst(Self.byteOrderMark.count) }
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidByte(bytes)
            return .notUTF8(offset: offset + 1, value: bytes[bytes.startIndex + offset])
        }
        return .text(text)
    }

    /// The offset (from 0) of the first byte of `bytes` that does not start or continue a valid
    /// UTF-8 sequence; only asked of bytes that are not valid UTF-8.
    static func firstInvalidByte(_ bytes: ArraySlice<UInt8>) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return offset
    }
}

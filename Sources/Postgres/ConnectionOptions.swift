internal import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One option a connection string sets, as libpq read it (percent-encoding and quotes undone).
struct ConnectionOption: Sendable, Equatable, CustomReflectable {
    let keyword: String
    let value: String

    /// Reflection shows the keyword only: the value may be a password.
    var customMirror: Mirror { Mirror(self, children: ["keyword": keyword], displayStyle: .struct) }
}

/// What libpq knows of its options: their names and which of them hold secrets.
enum LibPQOptions {
    /// Every option name libpq accepts, with whether libpq marks it as a secret ("*": `password`,
    /// `sslpassword`).
    static let keywords: [String: Bool] = {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse("", &error) else {
            if let error { PQfreemem(error) }
            preconditionFailure("libpq could not list its connection options")
        }
        defer { PQconninfoFree(options) }
        var names: [String: Bool] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            names[String(cString: keyword)] = option.pointee.dispchar.map { String(cString: $0) == "*" } ?? false
            option += 1
        }
        return names
    }()

    /// Whether libpq accepts `name` as an option of a `keyword=value` string: asked of libpq
    /// itself, so aliases it translates (`requiressl`) count.
    static func accepts(keyword name: String) -> Bool {
        guard !name.isEmpty, !name.utf8.contains(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") || isSpace($0) })
        else { return false }
        // The leading space keeps a name such as "postgresql://h" from being read as a URI.
        return parses(" \(name)=x")
    }

    /// Whether libpq parses `text` as a connection string.
    static func parses(_ text: String) -> Bool {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &error) else {
            if let error { PQfreemem(error) }
            return false
        }
        PQconninfoFree(options)
        return true
    }

    /// C's `isspace` in the C locale, which libpq's parser uses.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}

/// The checks libpq makes of option values only when it connects, made before any connection is
/// tried, so that a malformed value is a usage error and not a connection failure.
enum ConnectionOptionRules {
    /// Options whose value is one of a fixed set of words.
    static let choices: [String: [String]] = [
        "sslmode": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        "gssencmode": ["disable", "prefer", "require"],
        "channel_binding": ["disable", "prefer", "require"],
        "target_session_attrs": ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"],
    ]

    /// The TLS versions `ssl_min_protocol_version` and `ssl_max_protocol_version` take, in order
    /// (any letter case; empty means no bound).
    static let tlsVersions = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    /// The options that take one of `tlsVersions`.
    static let tlsVersionOptions = ["ssl_min_protocol_version", "ssl_max_protocol_version"]

    /// Options whose value is a whole number (seconds, milliseconds, counts or a 0/1 switch).
    static let wholeNumbers: Set = [
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    ]

    /// Whether the option's value is one of libpq's own words, which tells nothing of the user's
    /// data (so it need not be hidden from messages).
    static func isVocabulary(_ option: ConnectionOption) -> Bool {
        choices[option.keyword] != nil || tlsVersionOptions.contains(option.keyword)
    }

    /// What is wrong with the options' values, naming the option but never quoting its value;
    /// nil when libpq will accept them all.
    static func problem(in options: [ConnectionOption]) -> String? {
        var values: [String: String] = [:]
        for option in options { values[option.keyword] = option.value }

        for option in options {
            if let allowed = choices[option.keyword], !allowed.contains(option.value) {
                return "\(option.keyword) must be one of \(allowed.joined(separator: ", "))"
            }
            if wholeNumbers.contains(option.keyword), wholeNumber(option.value) == nil {
                return "\(option.keyword) must be a whole number"
            }
        }
        if let problem = tlsVersionProblem(values) { return problem }
        if let ports = values["port"], let problem = portProblem(ports) { return problem }
        if let addresses = values["hostaddr"], let problem = addressProblem(addresses) { return problem }
        return hostCountProblem(values)
    }

    private static func tlsVersionProblem(_ values: [String: String]) -> String? {
        var rank: [String: Int] = [:]
        for keyword in tlsVersionOptions {
            guard let value = values[keyword], !value.isEmpty else { continue }
            guard let index = tlsVersions.firstIndex(where: { $0.lowercased() == value.lowercased() }) else {
                return "\(keyword) must be one of \(tlsVersions.joined(separator: ", "))"
            }
            rank[keyword] = index
        }
        if let low = rank["ssl_min_protocol_version"], let high = rank["ssl_max_protocol_version"], low > high {
            return "ssl_min_protocol_version is above its ssl_max_protocol_version"
        }
        return nil
    }

    private static func portProblem(_ ports: String) -> String? {
        for port in ports.split(separator: ",", omittingEmptySubsequences: false) {
            let text = String(port)
            // An empty entry means the default port; anything else must be a port number.
            guard text.isEmpty || wholeNumber(text).map({ (1...65535).contains($0) }) == true else {
                return "port must be a number from 1 to 65535 (or a comma-separated list of them, one per host)"
            }
        }
        return nil
    }

    /// Each `hostaddr` entry must be a numeric address; resolving it makes no network contact.
    private static func addressProblem(_ addresses: String) -> String? {
        for address in addresses.split(separator: ",") where !address.isEmpty {
            var hints = addrinfo()
            hints.ai_flags = AI_NUMERICHOST
            hints.ai_family = AF_UNSPEC
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(String(address), nil, &hints, &result) == 0 else {
                return "hostaddr must be numeric IP addresses such as 127.0.0.1 or ::1 (a host name goes in host)"
            }
            freeaddrinfo(result)
        }
        return nil
    }

    /// libpq pairs hosts, addresses and ports one to one (one port may serve every host).
    private static func hostCountProblem(_ values: [String: String]) -> String? {
        func count(_ keyword: String) -> Int? {
            guard let value = values[keyword], !value.isEmpty else { return nil }
            return value.split(separator: ",", omittingEmptySubsequences: false).count
        }
        let hostCount = count("host")
        let addressCount = count("hostaddr")
        if let hostCount, let addressCount, hostCount != addressCount {
            return "hostaddr lists \(counted(addressCount, "address", "addresses")) for \(counted(hostCount, "host name", "host names")); give one address per host"
        }
        guard let hosts = addressCount ?? hostCount, let ports = count("port"), ports > 1, ports != hosts else { return nil }
        return "port lists \(counted(ports, "port", "ports")) for \(counted(hosts, "host", "hosts")); give one port for every host, or one per host"
    }

    private static func counted(_ count: Int, _ one: String, _ many: String) -> String {
        "\(count) \(count == 1 ? one : many)"
    }

    /// A whole number as libpq's `parse_int_param` reads it: spaces around, an optional sign, a 32-bit value.
    static func wholeNumber(_ text: String) -> Int32? {
        let bytes = Array(text.utf8)
        guard let first = bytes.firstIndex(where: { !LibPQOptions.isSpace($0) }),
              let last = bytes.lastIndex(where: { !LibPQOptions.isSpace($0) })
        else { return nil }
        return Int32(String(decoding: bytes[first...last], as: UTF8.self))
    }
}

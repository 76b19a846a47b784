// Writes Schema/*.sql as a Swift source file: `schema-embedder OUTPUT FILE...`.
// Each file becomes one exactly escaped string literal, so its checksum is the file's own.
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: schema-embedder OUTPUT FILE...\n".utf8))
    exit(2)
}

func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

var source = "// Generated from Schema/*.sql by schema-embedder at build time.\n"
source += "let embeddedMigrationFiles: [(fileName: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    guard let data = FileManager.default.contents(atPath: path),
        let text = String(data: data, encoding: .utf8)
    else {
        FileHandle.standardError.write(Data("schema-embedder: \(path) is not readable UTF-8\n".utf8))
        exit(1)
    }
    source += "    (\(literal(url.lastPathComponent)), \(literal(text))),\n"
}
source += "]\n"
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("schema-embedder: cannot write \(output): \(error)\n".utf8))
    exit(1)
}

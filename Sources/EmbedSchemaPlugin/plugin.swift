import Foundation
import PackagePlugin

/// Embeds the `Schema/` files (migrations and function modules, which the target sees through its
/// `Migrations` link) into the target as Swift source, each with its path below `Schema/`, so a
/// built binary carries its schema and works from any directory. The files are the target's own
/// inputs, so adding, editing or removing one rebuilds what depends on it.
@main
struct EmbedSchemaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        // Migrations and function modules only (Schema/shape.sql is a dump for people to read).
        let files = module.sourceFiles(withSuffix: "sql").map(\.url)
            .filter { $0.path.contains("/migrations/") || $0.path.contains("/functions/") }
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSchema.swift")
        let script = #"""
            set -eu
            out=$1; shift
            {
                printf '// Generated from Schema/ at build time: each file, by its path below Schema/, base64-encoded.\n'
                printf 'let embeddedSchemaFiles: [(path: String, base64: String)] = [\n'
                for file in "$@"; do
                    path=${file#*/Migrations/}
                    [ "$path" != "$file" ] || path=${file#*/Schema/}
                    printf '    ("%s", "%s"),\n' "$path" "$(base64 < "$file" | tr -d '\n')"
                done
                printf ']\n'
            } > "$out"
            """#
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) schema files",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "embed-schema", output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}

import Foundation
import PackagePlugin

/// Embeds the `Schema/*.sql` migrations (which the target sees through its `Migrations` link)
/// into the target as Swift source, so a built binary carries its schema and works from any
/// directory. The files are the target's own inputs, so adding, editing or removing a migration
/// rebuilds what depends on it.
@main
struct EmbedSchemaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let files = module.sourceFiles(withSuffix: "sql").map(\.url).sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSchema.swift")
        let script = #"""
            set -eu
            out=$1; shift
            {
                printf '// Generated from Schema/*.sql at build time: each file, base64-encoded.\n'
                printf 'let embeddedMigrationFiles: [(fileName: String, base64: String)] = [\n'
                for file in "$@"; do
                    printf '    ("%s", "%s"),\n' "$(basename "$file")" "$(base64 < "$file" | tr -d '\n')"
                done
                printf ']\n'
            } > "$out"
            """#
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) schema migrations",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "embed-schema", output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}

import PointsLedger

/// A ledger error (or an import line's reason) in points-admin's words: the library's sentence, with the flags and commands
/// a user of this CLI types in place of the library's names for them (the library speaks to
/// every caller, and does not know this CLI's flags).
enum ErrorWords {
    static func message(for error: LedgerError) -> String {
        switch error {
        case .invalidInput(let field, _):
            var text = error.description
            if let flag = flags[field] { text = text.replacing("Invalid \(field): ", with: "Invalid \(flag): ", maxReplacements: 1) }
            return withFlags(text)
        case .notFound(.program, let name):
            return error.description.dropLast() + "; create it with `points-admin program create \(name) --currency CNY`."
        case .notFound(.member, let id):
            return error.description.dropLast() + "; create it with `points-admin member create \(id)`."
        case .notFound(.task, _):
            return error.description.dropLast() + "; `points-admin task list` shows them."
        case .notFound(.reward, _):
            return error.description.dropLast() + "; `points-admin reward list` shows them."
        case .schemaNotMigrated:
            return "The database has no PointsLedger schema; run `points-admin db migrate` first."
        case .migrationUnknown:
            return error.description.replacing("use a newer version of PointsLedger", with: "use a newer points-admin")
        case .unreachable:
            return error.description + " Check --database-url (or the PG* variables) and that the server is running."
        default:
            return withFlags(error.description)
        }
    }

    /// The library's names of values a points-admin user gives as flags.
    static let flags = ["as of": "--as-of", "from": "--from", "to": "--to"]

    /// Phrases of the library's advice and the same advice with this CLI's flags and commands.
    static let phrases = [
        ("an explicit back-dating permission", "an explicit back-dating permission (--allow-backdated)"),
        ("to create it, give its rank and entry points", "to create it, give --rank and --entry-points"),
        ("create it by giving its points", "create it by giving its points (--points N)"),
        ("is new: give its name and cost", "is new: give its --name and --cost"),
        ("make it effective at a 1 January, 00:00", "give --effective-at with a 1 January, 00:00"),
        ("completion needs the app's reference for it", "completion needs the app's reference for it (--ref)"),
        ("an admin can make it active again", "an admin can make it active again with `points-admin task set … --active`"),
        ("is not before the period's end", "is not before --to"),
        ("(an import that creates members would create it)", "(import without --no-create-members to create members)"),
        ("migrate again when it has finished", "run `points-admin db migrate` again when it has finished"),
    ]

    static func withFlags(_ text: String) -> String {
        phrases.reduce(text) { text, phrase in text.replacing(phrase.0, with: phrase.1) }
    }
}

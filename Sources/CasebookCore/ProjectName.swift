/// PEP 503 project names.
public enum ProjectName {
    /// The PEP 503 normalized form: `re.sub(r"[-_.]+", "-", name).lower()`.
    ///
    /// `Flask_Login`, `flask.login` and `FLASK--login` all become `flask-login`.
    public static func normalize(_ name: some StringProtocol) -> String {
        var out = String.UnicodeScalarView()
        var inSeparatorRun = false
        for ch in name.unicodeScalars {
            if ch == "-" || ch == "_" || ch == "." {
                if !inSeparatorRun { out.append("-") }
                inSeparatorRun = true
                continue
            }
            inSeparatorRun = false
            if ch.isASCII {
                let v = ch.value
                out.append((v >= 65 && v <= 90) ? Unicode.Scalar(v + 32)! : ch)
            } else {
                out.append(contentsOf: String(ch).lowercased().unicodeScalars)
            }
        }
        return String(out)
    }
}

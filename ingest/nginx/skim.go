package nginx

// plainDN reports, without building anything, that the distinguished name v
// is certainly one dn.Canonical accepts: RFC 2253 attributes type=value
// separated by ',' or '+', types of letters, digits, '.', '-' and '_', and
// values without escapes, without a leading space or '#' (the DER form) and
// with no trailing space or tab on the name. It has no backslash, so the
// log's escaping left it as it is. A false result says nothing: the caller
// checks the name in full.
func plainDN(v []byte) bool {
	if len(v) == 0 || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
		return false
	}
	i := 0
	for {
		ts := i
		for i < len(v) && isTypeChar(v[i]) {
			i++
		}
		if i == ts || i == len(v) || v[i] != '=' {
			return false
		}
		i++
		if i < len(v) && (v[i] == ' ' || v[i] == '#') {
			return false
		}
		for i < len(v) && v[i] != ',' && v[i] != '+' {
			if v[i] == '\\' {
				return false
			}
			i++
		}
		if i == len(v) {
			return true
		}
		i++ // the separator; an attribute must follow
	}
}

func isTypeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

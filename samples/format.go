package samples

import (
	"strconv"
	"time"
)

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// appendProxy formats r in the mtls_combined format:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//	"$http_referer" "$http_user_agent" rid=$request_id verify=$ssl_client_verify
//	fp=$ssl_client_fingerprint serial=$ssl_client_serial
//	dn="$ssl_client_s_dn" idn="$ssl_client_i_dn" rt=$request_time
func (g *generator) appendProxy(b []byte, r *proxyRec) []byte {
	sec := r.end / second
	if sec != g.pSec {
		g.pSec = sec
		t := time.Unix(sec, 0).UTC()
		y, mo, d := t.Date()
		tb := g.pTime[:0]
		tb = append2(tb, d)
		tb = append(tb, '/')
		tb = append(tb, months[mo-1]...)
		tb = append(tb, '/')
		tb = strconv.AppendInt(tb, int64(y), 10)
		tb = append(tb, ':')
		tb = append2(tb, t.Hour())
		tb = append(tb, ':')
		tb = append2(tb, t.Minute())
		tb = append(tb, ':')
		tb = append2(tb, t.Second())
		tb = append(tb, " +0000"...)
		g.pTime = tb
	}
	b = append(b, r.ip...)
	b = append(b, " - - ["...)
	b = append(b, g.pTime...)
	b = append(b, "] \""...)
	b = append(b, r.req...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.bytes), 10)
	b = append(b, " \""...)
	b = append(b, r.ref...)
	b = append(b, "\" \""...)
	b = append(b, r.ua...)
	b = append(b, "\" rid="...)
	b = appendHex(b, r.rid[:])
	b = append(b, " verify="...)
	b = append(b, r.verify...)
	if c := r.cert; c != nil {
		b = append(b, " fp="...)
		b = append(b, c.fp...)
		b = append(b, " serial="...)
		b = append(b, c.serial...)
		b = append(b, " dn=\""...)
		b = append(b, c.dn...)
		b = append(b, "\" idn=\""...)
		b = append(b, c.idn...)
		b = append(b, "\" rt="...)
	} else {
		b = append(b, ` fp=- serial=- dn="-" idn="-" rt=`...)
	}
	b = strconv.AppendInt(b, int64(r.rt/1000), 10)
	f := r.rt % 1000
	b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10), '\n')
	return b
}

func appendHex(b []byte, v []byte) []byte {
	for _, c := range v {
		b = append(b, lowerHex[c>>4], lowerHex[c&15])
	}
	return b
}

var appEvents = [...]struct{ level, name string }{
	evFailed:        {"warning", "login_failed"},
	evSucceeded:     {"info", "login_succeeded"},
	evLockedOut:     {"warning", "user_locked_out"},
	evLogout:        {"info", "logout"},
	evPasswordReset: {"info", "password_reset_requested"},
}

// appendApp formats r as a Django JSON line with the default keys.
func (g *generator) appendApp(b []byte, r *appRec) []byte {
	sec := r.at / second
	if sec != g.aSec {
		g.aSec = sec
		t := time.Unix(sec, 0).UTC()
		g.aTime = t.AppendFormat(g.aTime[:0], "2006-01-02T15:04:05")
	}
	us := r.at % second / 1000
	ev := appEvents[r.ev]
	b = append(b, `{"timestamp":"`...)
	b = append(b, g.aTime...)
	b = append(b, '.')
	for d := int64(100000); d > 0; d /= 10 {
		b = append(b, byte('0'+us/d%10))
	}
	b = append(b, `Z","level":"`...)
	b = append(b, ev.level...)
	b = append(b, `","logger":"accounts.auth","event":"`...)
	b = append(b, ev.name...)
	b = append(b, `","request_id":"`...)
	b = appendHex(b, r.rid[:])
	b = append(b, `","username":"`...)
	b = append(b, r.user...)
	b = append(b, `","ip":"`...)
	b = append(b, r.ip...)
	b = append(b, "\"}\n"...)
	return b
}

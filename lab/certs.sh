#!/usr/bin/env bash
# certs.sh DIR creates the lab's PKI in DIR with openssl: a device CA, a
# server certificate for localhost/127.0.0.1, and client certificates for
# employees' devices, a shared SSO gateway, a device whose subject is
# non-ASCII UTF-8, and one device certificate that the lab's attacker has
# stolen. It writes DIR/certs.tsv: name, subject, sha1, sha256 (lowercase hex).
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
days=2

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days "$days" \
  -keyout ca.key -out ca.crt -subj "/C=SE/O=Spraywatch Lab/CN=Spraywatch Lab Device CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

serial=4096
issue() { # issue NAME SUBJECT EXTENSIONS
  local name=$1 subj=$2 ext=$3
  serial=$((serial + 1))
  openssl req -new -utf8 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -set_serial "$serial" \
    -days "$days" -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue server "/C=SE/O=Spraywatch Lab/CN=localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
cat server.crt server.key > server.pem   # HAProxy wants certificate and key in one file

client_ext="extendedKeyUsage=clientAuth"
issue alice   "/C=SE/O=Example Corp/OU=devices/CN=alice-laptop"  "$client_ext"
issue bob     "/C=SE/O=Example Corp/OU=devices/CN=bob-laptop"    "$client_ext"
issue carol   "/C=SE/O=Example Corp/OU=devices/CN=carol-desktop" "$client_ext"
issue zoe     "/C=NO/O=Example Corp/OU=devices/CN=Zoë Ødegård"   "$client_ext"
issue gateway "/C=SE/O=Example Corp/OU=gateways/CN=sso-gateway-01" "$client_ext"
issue frank   "/C=SE/O=Example Corp/OU=devices/CN=frank-laptop"  "$client_ext"   # stolen

: > certs.tsv
for n in alice bob carol zoe gateway frank; do
  subj=$(openssl x509 -in "$n.crt" -noout -subject -nameopt RFC2253,-esc_msb | sed 's/^subject=//')
  sha1=$(openssl x509 -in "$n.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
  sha256=$(openssl x509 -in "$n.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
  printf '%s\t%s\t%s\t%s\n' "$n" "$subj" "$sha1" "$sha256" >> certs.tsv
done
chmod 600 ./*.key server.pem

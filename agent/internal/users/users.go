// Package users resolves user and group names from the sandbox's /etc/passwd and /etc/group, as the engine does
// for `docker exec --user` (no NSS, no libc: these two files are the whole database).
package users

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DB is a snapshot of /etc/passwd and /etc/group; missing files give an empty DB.
type DB struct {
	users  []entry
	groups []group
}

type entry struct {
	name     string
	uid, gid int
	home     string
}

type group struct {
	name    string
	gid     int
	members []string
}

// Load reads the two files under root ("/" in a sandbox).
func Load(root string) *DB {
	db := &DB{}
	forLines(root+"etc/passwd", func(f []string) {
		if len(f) >= 6 {
			uid, e1 := strconv.Atoi(f[2])
			gid, e2 := strconv.Atoi(f[3])
			if e1 == nil && e2 == nil {
				db.users = append(db.users, entry{name: f[0], uid: uid, gid: gid, home: f[5]})
			}
		}
	})
	forLines(root+"etc/group", func(f []string) {
		if len(f) >= 3 {
			if gid, err := strconv.Atoi(f[2]); err == nil {
				var members []string
				if len(f) >= 4 && f[3] != "" {
					members = strings.Split(f[3], ",")
				}
				db.groups = append(db.groups, group{name: f[0], gid: gid, members: members})
			}
		}
	})
	return db
}

func forLines(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// UserName is the name of uid, or the number as text.
func (db *DB) UserName(uid int) string {
	for _, u := range db.users {
		if u.uid == uid {
			return u.name
		}
	}
	return strconv.Itoa(uid)
}

// GroupName is the name of gid, or the number as text.
func (db *DB) GroupName(gid int) string {
	for _, g := range db.groups {
		if g.gid == gid {
			return g.name
		}
	}
	return strconv.Itoa(gid)
}

// Identity is a resolved user.
type Identity struct {
	UID, GID int
	Groups   []uint32 // supplementary groups (the user's memberships in /etc/group)
	Home     string   // empty when the user has no passwd entry
}

// Resolve parses "user", "uid", "user:group" or "uid:gid" like `docker exec --user`.
func (db *DB) Resolve(spec string) (Identity, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		return Identity{}, fmt.Errorf("user %q has an empty user part", spec)
	}
	var id Identity
	var name string
	if n, err := strconv.Atoi(userPart); err == nil {
		if n < 0 {
			return id, fmt.Errorf("user %q: negative uid", spec)
		}
		id.UID, id.GID = n, n
		for _, u := range db.users {
			if u.uid == n {
				id.GID, id.Home, name = u.gid, u.home, u.name
				break
			}
		}
	} else {
		found := false
		for _, u := range db.users {
			if u.name == userPart {
				id.UID, id.GID, id.Home, name, found = u.uid, u.gid, u.home, u.name, true
				break
			}
		}
		if !found {
			return id, fmt.Errorf("no user %q in /etc/passwd", userPart)
		}
	}
	if hasGroup {
		gid, err := db.resolveGroup(groupPart)
		if err != nil {
			return id, err
		}
		id.GID = gid
	}
	for _, g := range db.groups {
		for _, m := range g.members {
			if name != "" && m == name && g.gid != id.GID {
				id.Groups = append(id.Groups, uint32(g.gid))
			}
		}
	}
	return id, nil
}

func (db *DB) resolveGroup(spec string) (int, error) {
	if n, err := strconv.Atoi(spec); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("group %q: negative gid", spec)
		}
		return n, nil
	}
	for _, g := range db.groups {
		if g.name == spec {
			return g.gid, nil
		}
	}
	return 0, fmt.Errorf("no group %q in /etc/group", spec)
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-id/portcullis/idp/declare"
	"github.com/portcullis-id/portcullis/store"
)

func (a *API) mountGroups(mux *http.ServeMux) {
	a.route(mux, "GET "+Prefix+"/groups", "admin.group.list", a.listGroups)
	a.route(mux, "POST "+Prefix+"/groups", "admin.group.create", a.createGroup)
	a.route(mux, "GET "+Prefix+"/groups/{id}", "admin.group.get", a.getGroup)
	a.route(mux, "PATCH "+Prefix+"/groups/{id}", "admin.group.update", a.patchGroup)
	a.route(mux, "DELETE "+Prefix+"/groups/{id}", "admin.group.delete", a.deleteGroup)
	a.route(mux, "PUT "+Prefix+"/groups/{id}/members/{userId}", "admin.group.member.add", a.addMember)
	a.route(mux, "DELETE "+Prefix+"/groups/{id}/members/{userId}", "admin.group.member.remove", a.removeMember)
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, _ *call) error {
	if name := r.URL.Query().Get("name"); name != "" {
		g, err := a.d.Store.GetGroupByName(r.Context(), name)
		if errors.Is(err, store.ErrNotFound) {
			return writeJSON(w, http.StatusOK, list[store.Group]{Items: []store.Group{}})
		}
		if err != nil {
			return storeErr(err, "group", "")
		}
		return writeJSON(w, http.StatusOK, list[store.Group]{Items: []store.Group{g}})
	}
	gs, err := a.d.Store.ListGroups(r.Context())
	if err != nil {
		return storeErr(err, "groups", "")
	}
	slices.SortFunc(gs, func(x, y store.Group) int {
		return strings.Compare(strings.ToLower(x.DisplayName), strings.ToLower(y.DisplayName))
	})
	if gs == nil {
		gs = []store.Group{}
	}
	return writeJSON(w, http.StatusOK, list[store.Group]{Items: gs})
}

type groupRequest struct {
	DisplayName *string   `json:"display_name"`
	Members     *[]string `json:"members"` // user ids
}

// members checks that every id names a user and returns them sorted, deduplicated.
func (a *API) members(r *http.Request, ids []string, is *issues) ([]string, error) {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		_, err := a.d.Store.GetUser(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			is.addMsg(fmt.Sprintf("members[%d]", i), "no user with this id")
			continue
		}
		if err != nil {
			return nil, storeErr(err, "user", "")
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	var req groupRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var is issues
	name := ""
	if req.DisplayName != nil {
		name = *req.DisplayName
	}
	is.add("display_name", declare.CheckName(name))
	var ids []string
	if req.Members != nil {
		var err error
		if ids, err = a.members(r, *req.Members, &is); err != nil {
			return err
		}
	}
	if err := is.err(); err != nil {
		return err
	}
	g, err := a.d.Store.CreateGroup(r.Context(), store.Group{DisplayName: name, Members: ids, Source: SourceLocal})
	if err != nil {
		return storeErr(err, "group", "display_name")
	}
	c.target = "group:" + g.ID
	c.details = map[string]string{"name": g.DisplayName}
	setETag(w, g.Version)
	w.Header().Set("Location", Prefix+"/groups/"+g.ID)
	return writeJSON(w, http.StatusCreated, g)
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, _ *call) error {
	g, err := a.d.Store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err, "group", "")
	}
	setETag(w, g.Version)
	return writeJSON(w, http.StatusOK, g)
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "group:" + id
	var req groupRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	cur, err := a.d.Store.GetGroup(r.Context(), id)
	if err != nil {
		return storeErr(err, "group", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	next := cur
	var is issues
	var changed []string
	if req.DisplayName != nil && *req.DisplayName != cur.DisplayName {
		is.add("display_name", declare.CheckName(*req.DisplayName))
		next.DisplayName, changed = *req.DisplayName, append(changed, "display_name")
	}
	if req.Members != nil {
		ids, err := a.members(r, *req.Members, &is)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, cur.Members) {
			next.Members, changed = ids, append(changed, "members")
		}
	}
	if err := is.err(); err != nil {
		return err
	}
	if len(changed) > 0 {
		if _, err := a.d.Store.UpdateGroup(r.Context(), next); err != nil {
			return storeErr(err, "group", "display_name")
		}
	}
	c.details = map[string]string{"fields": strings.Join(changed, ",")}
	return a.getGroup(w, r, c)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	c.target = "group:" + id
	cur, err := a.d.Store.GetGroup(r.Context(), id)
	if err != nil {
		return storeErr(err, "group", "")
	}
	if err := checkIfMatch(r, cur.Version); err != nil {
		return err
	}
	c.details = map[string]string{"name": cur.DisplayName}
	if err := a.d.Store.DeleteGroup(r.Context(), id); err != nil {
		return storeErr(err, "group", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) memberTarget(r *http.Request, c *call) (groupID, userID string, err error) {
	groupID, userID = r.PathValue("id"), r.PathValue("userId")
	c.target = "group:" + groupID
	c.details = map[string]string{"user": userID}
	if _, err := a.d.Store.GetGroup(r.Context(), groupID); err != nil {
		return "", "", storeErr(err, "group", "")
	}
	if _, err := a.d.Store.GetUser(r.Context(), userID); err != nil {
		return "", "", storeErr(err, "user", "")
	}
	return groupID, userID, nil
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, c *call) error {
	g, u, err := a.memberTarget(r, c)
	if err != nil {
		return err
	}
	if err := a.d.Store.AddMember(r.Context(), g, u); err != nil {
		return storeErr(err, "group member", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, c *call) error {
	g, u, err := a.memberTarget(r, c)
	if err != nil {
		return err
	}
	if err := a.d.Store.RemoveMember(r.Context(), g, u); err != nil {
		return storeErr(err, "group member", "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

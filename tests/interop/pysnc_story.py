"""The story with pysnc 1.2.1, ServiceNow's own Python client: GlideRecord
insert, get, add_query with paging by batch_size, update, update_multiple and
delete_multiple (the Batch API, /api/now/v1/batch), an attachment added and
read back (the Attachment API), delete. pysnc refuses http:// instances, so
the suite serves HTTPS."""

import pysnc

from story import (COUNT, FILE_BYTES, PAGE, PASSWORD, RITA, RITA_NAME, URL,
                   USER, Story, check, equal)

story = Story("pysnc")
client = pysnc.ServiceNowClient(URL, (USER, PASSWORD))
state = {}


def tagged(batch_size=PAGE):
    """The story's records, ordered by short_description, `batch_size` a page."""
    gr = client.GlideRecord("incident", batch_size=batch_size)
    gr.add_query("short_description", "STARTSWITH", story.tag)
    gr.add_query("assigned_to", RITA)
    gr.order_by("short_description")
    return gr


def create():
    ids = []
    for i in range(COUNT):
        gr = client.GlideRecord("incident")
        gr.initialize()
        gr.short_description = f"{story.tag} #{i:02}"
        gr.description = "made by pysnc"
        gr.assigned_to = RITA
        sys_id = gr.insert()
        check(sys_id, "insert answers a sys_id")
        ids.append(str(sys_id))
    equal(len(set(ids)), COUNT, "distinct sys_ids")
    state["ids"] = ids


def read_back():
    gr = client.GlideRecord("incident")
    check(gr.get(state["ids"][3]), "get finds the record")
    equal(gr.get_value("short_description"), f"{story.tag} #03", "short_description")
    equal(gr.get_value("description"), "made by pysnc", "description")
    equal(gr.get_value("assigned_to"), RITA, "assigned_to")
    equal(gr.get_display_value("assigned_to"), RITA_NAME, "assigned_to's display value")
    equal(gr.get_value("state"), "open", "the default state")
    check(gr.get_value("number").startswith("INC"), "an incident number", gr.get_value("number"))


def query_and_pages():
    # batch_size 5: pysnc reads page after page (sysparm_offset) as it walks.
    gr = tagged()
    gr.query()
    equal(gr.get_row_count(), COUNT, "get_row_count (X-Total-Count)")
    seen = [str(gr.sys_id) for gr in gr]
    equal(seen, state["ids"], "every record, in order, across pages of 5")
    # One page at a time, as limit and location allow.
    page1 = tagged()
    page1.limit = PAGE
    page1.query()
    first = [str(r.sys_id) for r in page1]
    equal(first, state["ids"][:PAGE], "page 1")
    check(first != seen[PAGE:2 * PAGE], "page 2 differs from page 1")


def update():
    gr = client.GlideRecord("incident")
    check(gr.get(state["ids"][0]), "get finds the record to update")
    gr.state = "in_progress"
    gr.description = "updated by pysnc"
    check(gr.update(), "update answers the sys_id")
    again = client.GlideRecord("incident")
    check(again.get(state["ids"][0]), "get finds the updated record")
    equal(again.get_value("state"), "in_progress", "state after the update")
    equal(again.get_display_value("state"), "Work in Progress", "state's display value")
    equal(again.get_value("description"), "updated by pysnc", "description after the update")


def batch_update():
    gr = tagged()
    gr.query()
    for record in gr:
        record.description = "batch updated by pysnc"
    check(gr.update_multiple(), "update_multiple reports every record updated")
    after = tagged()
    after.query()
    descriptions = [r.get_value("description") for r in after]
    equal(descriptions, ["batch updated by pysnc"] * COUNT, "descriptions after update_multiple")


def attachment():
    gr = client.GlideRecord("incident")
    check(gr.get(state["ids"][1]), "get finds the record")
    location = gr.add_attachment("pysnc.bin", FILE_BYTES, "application/octet-stream")
    check(location, "add_attachment answers the file's location")
    attachments = gr.get_attachments()
    files = [(a.file_name, a.read()) for a in attachments]
    equal(len(files), 1, "the record's attachments")
    equal(files[0][0], "pysnc.bin", "the file's name")
    check(files[0][1] == FILE_BYTES, "the attachment's bytes read back equal",
          f"{len(files[0][1])} bytes")


def oauth():
    # The password grant at /oauth_token.do, then the bearer token.
    flow = pysnc.ServiceNowPasswordGrantFlow(USER, PASSWORD, "interop-suite", "unchecked")
    bearer = pysnc.ServiceNowClient(URL, flow)
    gr = bearer.GlideRecord("incident")
    check(gr.get(state["ids"][2]), "get with the OAuth token finds the record")
    equal(gr.get_value("short_description"), f"{story.tag} #02", "short_description")


def long_query():
    # pysnc sends a query longer than about 10,000 characters as a GET inside
    # a Batch API request, rather than in the URL.
    decoys = [f"{i:032x}" for i in range(320)]
    gr = client.GlideRecord("incident", batch_size=50)
    gr.add_query("sys_id", "IN", ",".join(decoys + state["ids"][:3]))
    gr.order_by("short_description")
    gr.query()
    found = [str(r.sys_id) for r in gr]
    equal(found, state["ids"][:3], "the records the long query names")


def delete():
    gr = client.GlideRecord("incident")
    check(gr.get(state["ids"][-1]), "get finds the record to delete")
    check(gr.delete(), "delete succeeds")
    gone = client.GlideRecord("incident")
    check(not gone.get(state["ids"][-1]), "the deleted record is gone")


def batch_delete():
    gr = tagged()
    gr.query()
    equal(gr.get_row_count(), COUNT - 1, "records left before delete_multiple")
    check(gr.delete_multiple(), "delete_multiple reports every record deleted")
    left = tagged()
    left.query()
    equal(left.get_row_count(), 0, "records left after delete_multiple")
    files = client.Attachment("incident")
    files.add_query("table_sys_id", state["ids"][1])
    files.query()
    equal(len(files), 0, "the deleted record's attachment")


story.step("create (insert)", create)
story.step("read back (get)", read_back)
story.step("query (add_query) and pages", query_and_pages)
story.step("update", update)
story.step("batch update (update_multiple)", batch_update)
story.step("attach a file and read it back", attachment)
story.step("sign in with OAuth (ServiceNowPasswordGrantFlow)", oauth)
story.step("a long query (sent through the Batch API)", long_query)
story.step("delete", delete)
story.step("batch delete (delete_multiple)", batch_delete)
story.done()

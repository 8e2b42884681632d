"""The story with pysnow 0.7.17: create, read back, query with its
QueryBuilder, two pages, update, attach a file and read it back, delete.
pysnow has no batch operations (its update and delete take a query that must
match one record), so the batch step is not in its story."""

import tempfile

import pysnow

from story import (COUNT, FILE_BYTES, HOST, PAGE, PASSWORD, RITA, USER, Story,
                   check, equal)

story = Story("pysnow")
client = pysnow.Client(host=HOST, user=USER, password=PASSWORD, use_ssl=True)
incidents = client.resource(api_path="/table/incident")
state = {}


def create():
    created = []
    for i in range(COUNT):
        record = incidents.create(payload={
            "short_description": f"{story.tag} #{i:02}",
            "description": "made by pysnow",
            "assigned_to": RITA,
        }).one()
        created.append(record)
    first = created[0]
    equal(first["short_description"], f"{story.tag} #00", "the created record's short_description")
    check(first["number"].startswith("INC"), "an incident number", first["number"])
    state["ids"] = [record["sys_id"] for record in created]
    equal(len(set(state["ids"])), COUNT, "distinct sys_ids")


def read_back():
    record = incidents.get(query={"sys_id": state["ids"][3]}).one()
    equal(record["short_description"], f"{story.tag} #03", "short_description read back")
    equal(record["description"], "made by pysnow", "description read back")
    equal(record["assigned_to"]["value"], RITA, "assigned_to read back")
    equal(record["state"], "open", "the default state")


def query_builder():
    return (pysnow.QueryBuilder()
            .field("short_description").starts_with(story.tag)
            .AND().field("assigned_to").equals(RITA)
            .AND().field("short_description").order_ascending())


def query_and_pages():
    first = incidents.get(query=query_builder(), limit=PAGE, offset=0)
    page1 = [record["sys_id"] for record in first.all()]
    equal(first.headers.get("X-Total-Count"), str(COUNT), "X-Total-Count")
    second = incidents.get(query=query_builder(), limit=PAGE, offset=PAGE)
    page2 = [record["sys_id"] for record in second.all()]
    equal(page1, state["ids"][:PAGE], "page 1 (ordered by short_description)")
    equal(page2, state["ids"][PAGE:2 * PAGE], "page 2")
    check(not set(page1) & set(page2), "page 2 differs from page 1")
    last = incidents.get(query=query_builder(), limit=PAGE, offset=2 * PAGE)
    equal(len(list(last.all())), COUNT - 2 * PAGE, "records on the last page")
    # The streamed parser (ijson) over display values, on a resource of its
    # own (pysnow keeps display_value on the resource for later requests).
    streamed = client.resource(api_path="/table/incident").get(query=query_builder(), stream=True, display_value=True,
                             fields=["sys_id", "assigned_to", "state"])
    rows = list(streamed.all())
    equal([r["sys_id"] for r in rows], state["ids"], "every record, streamed")
    equal(rows[0]["assigned_to"]["display_value"], "Rita Release", "assigned_to's display value")
    equal(rows[0]["state"], "Open", "state's display value")


def update():
    sys_id = state["ids"][0]
    updated = incidents.update(query={"sys_id": sys_id}, payload={
        "state": "in_progress", "description": "updated by pysnow"}).one()
    equal(updated["state"], "in_progress", "state in the update's answer")
    record = incidents.get(query={"sys_id": sys_id}).one()
    equal(record["state"], "in_progress", "state read back after the update")
    equal(record["description"], "updated by pysnow", "description read back after the update")
    equal(record["sys_mod_count"], "1", "sys_mod_count after one update")


def attachment():
    sys_id = state["ids"][1]
    attachments = client.resource(api_path="/attachment")
    with tempfile.NamedTemporaryFile(suffix=".bin") as file:
        file.write(FILE_BYTES)
        file.flush()
        uploaded = incidents.attachments.upload(sys_id=sys_id, file_path=file.name,
                                                name="pysnow.bin").one()
    equal(uploaded["file_name"], "pysnow.bin", "the uploaded file's name")
    equal(uploaded["size_bytes"], str(len(FILE_BYTES)), "size_bytes")
    listed = list(incidents.attachments.get(sys_id=sys_id))
    equal([a["sys_id"] for a in listed], [uploaded["sys_id"]], "the record's attachments")
    meta = attachments.get(query={"sys_id": uploaded["sys_id"]}).one()
    equal(meta["table_sys_id"], sys_id, "the attachment's record")
    # pysnow has no download: the bytes are read through its own session
    # from the metadata's download_link.
    answer = client.session.get(meta["download_link"])
    equal(answer.status_code, 200, "download status")
    check(answer.content == FILE_BYTES, "the attachment's bytes read back equal",
          f"{len(answer.content)} bytes")
    state["attachment"] = uploaded["sys_id"]


def delete():
    for sys_id in state["ids"]:
        incidents.delete(query={"sys_id": sys_id})
    left = incidents.get(query=(pysnow.QueryBuilder()
                                .field("short_description").starts_with(story.tag)))
    equal(list(left.all()), [], "records left after the deletes")
    gone = client.resource(api_path="/attachment").get(
        query={"sys_id": state["attachment"]}).all()
    equal(list(gone), [], "the deleted record's attachment")


story.step("create", create)
story.step("read back", read_back)
story.step("query (QueryBuilder) and two pages", query_and_pages)
story.step("update", update)
story.step("attach a file and read it back", attachment)
story.step("delete", delete)
story.done()

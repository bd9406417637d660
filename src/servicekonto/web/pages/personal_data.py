"""Correcting self-declared personal data (for example after the registry found no match)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.validation import ACADEMIC_TITLES
from servicekonto.web.dependencies import (
    AccountsDep,
    IdentityDep,
    PageDep,
    SignedInDep,
    SubmissionDep,
)
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
_FIELDS = (
    "academic_title",
    "given_names",
    "family_name",
    "birth_name",
    "birth_place",
    "street",
    "house_number",
    "postal_code",
    "city",
)


@router.get("/account/data", response_model=None)
def data_form(
    page: PageDep, current: SignedInDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    person = accounts.profile(current.person_id)
    if person is None or person.identity_proofing != "self_declared":
        return redirect(page, "/account")
    values = {field: getattr(person, field) or "" for field in _FIELDS}
    values["birth_date"] = person.birth_date.isoformat()
    return render(page, "personal_data.html", values=values, titles=ACADEMIC_TITLES)


@router.post("/account/data", response_model=None)
def data_save(
    page: PageDep,
    current: SignedInDep,
    form: SubmissionDep,
    *,
    accounts: AccountsDep,
    identity: IdentityDep,
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return form_problem(page, "personal_data.html", form, FORM_EXPIRED, titles=ACADEMIC_TITLES)
    outcome = accounts.update_personal_data(current.person_id, form.values)
    if not outcome.ok:
        return form_problem(
            page, "personal_data.html", form, outcome.errors, titles=ACADEMIC_TITLES
        )
    identity.checks.recheck_after_correction(current.person_id)
    return redirect(page, "/account?updated=data")

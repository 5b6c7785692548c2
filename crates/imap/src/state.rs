//! Where a session is (RFC 9051 3): not authenticated, authenticated with
//! its account, or selected with its account and mailbox. Each state
//! carries exactly what it needs, so a command cannot reach an account
//! before login or a mailbox before SELECT, and leaving a state (LOGOUT,
//! UNAUTHENTICATE, CLOSE, a failed SELECT) drops what it held.

use tern_store::{Account, Change};
use tokio::sync::broadcast;

use crate::enabled::Enabled;
use crate::view::Selected;

/// A logged-in account and what belongs to its login.
pub(crate) struct Login {
    pub account: Account,
    /// The store's change events for this account (`None` once the
    /// channel closed, or while IDLE holds it).
    pub events: Option<broadcast::Receiver<Change>>,
    pub enabled: Enabled,
}

impl Login {
    pub fn new(account: Account, events: broadcast::Receiver<Change>) -> Login {
        Login {
            account,
            events: Some(events),
            enabled: Enabled::default(),
        }
    }
}

pub(crate) enum State {
    NotAuthenticated,
    Authenticated(Login),
    /// The view is boxed: it is the largest state by far.
    Selected(Login, Box<Selected>),
}

impl State {
    pub fn login(&self) -> Option<&Login> {
        match self {
            State::NotAuthenticated => None,
            State::Authenticated(l) | State::Selected(l, _) => Some(l),
        }
    }

    pub fn login_mut(&mut self) -> Option<&mut Login> {
        match self {
            State::NotAuthenticated => None,
            State::Authenticated(l) | State::Selected(l, _) => Some(l),
        }
    }

    pub fn selected(&self) -> Option<&Selected> {
        match self {
            State::Selected(_, s) => Some(s),
            _ => None,
        }
    }

    pub fn selected_mut(&mut self) -> Option<&mut Selected> {
        match self {
            State::Selected(_, s) => Some(s),
            _ => None,
        }
    }

    /// What is enabled; nothing before login.
    pub fn enabled(&self) -> Enabled {
        self.login().map(|l| l.enabled).unwrap_or_default()
    }

    /// Logged in with this account (from not authenticated).
    pub fn log_in(&mut self, login: Login) {
        *self = State::Authenticated(login);
    }

    /// Back to not authenticated; the login and its mailbox are dropped.
    pub fn log_out(&mut self) {
        *self = State::NotAuthenticated;
    }

    /// Select a mailbox (from authenticated or selected); nothing before
    /// login.
    pub fn select(&mut self, view: Selected) {
        *self = match std::mem::replace(self, State::NotAuthenticated) {
            State::Authenticated(l) | State::Selected(l, _) => State::Selected(l, Box::new(view)),
            State::NotAuthenticated => State::NotAuthenticated,
        };
    }

    /// Back to authenticated; the mailbox that was selected, if any.
    pub fn unselect(&mut self) -> Option<Box<Selected>> {
        match std::mem::replace(self, State::NotAuthenticated) {
            State::Selected(l, s) => {
                *self = State::Authenticated(l);
                Some(s)
            }
            other => {
                *self = other;
                None
            }
        }
    }
}

//! `generics = ListCreate`: Django REST framework's nine generic handlers and
//! the actions each provides; `observe`: the live `subscribe` and
//! `unsubscribe` beside them. The runtime runs them
//! (`rest_channels::generics`); the macro only adds their arms to the
//! dispatch `match`, so it must know which actions each one has.

/// One of the generic handlers of `generics = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GenericHandler {
    Create,
    List,
    Retrieve,
    Update,
    Destroy,
    ListCreate,
    RetrieveUpdate,
    RetrieveDestroy,
    RetrieveUpdateDestroy,
}

/// An action a generic handler provides; the variants are the runtime's
/// `GenericAction`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GenericAction {
    Create,
    List,
    Retrieve,
    Update,
    PartialUpdate,
    Destroy,
    Subscribe,
    Unsubscribe,
}

impl GenericHandler {
    pub(crate) const ALL: [GenericHandler; 9] = [
        GenericHandler::Create,
        GenericHandler::List,
        GenericHandler::Retrieve,
        GenericHandler::Update,
        GenericHandler::Destroy,
        GenericHandler::ListCreate,
        GenericHandler::RetrieveUpdate,
        GenericHandler::RetrieveDestroy,
        GenericHandler::RetrieveUpdateDestroy,
    ];

    pub(crate) fn from_name(name: &str) -> Option<GenericHandler> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }

    /// The name written in `generics = ...`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            GenericHandler::Create => "Create",
            GenericHandler::List => "List",
            GenericHandler::Retrieve => "Retrieve",
            GenericHandler::Update => "Update",
            GenericHandler::Destroy => "Destroy",
            GenericHandler::ListCreate => "ListCreate",
            GenericHandler::RetrieveUpdate => "RetrieveUpdate",
            GenericHandler::RetrieveDestroy => "RetrieveDestroy",
            GenericHandler::RetrieveUpdateDestroy => "RetrieveUpdateDestroy",
        }
    }

    /// The actions it provides, in the order of their dispatch arms.
    pub(crate) fn actions(self) -> &'static [GenericAction] {
        use GenericAction::*;
        match self {
            GenericHandler::Create => &[Create],
            GenericHandler::List => &[List],
            GenericHandler::Retrieve => &[Retrieve],
            GenericHandler::Update => &[Update, PartialUpdate],
            GenericHandler::Destroy => &[Destroy],
            GenericHandler::ListCreate => &[List, Create],
            GenericHandler::RetrieveUpdate => &[Retrieve, Update, PartialUpdate],
            GenericHandler::RetrieveDestroy => &[Retrieve, Destroy],
            GenericHandler::RetrieveUpdateDestroy => &[Retrieve, Update, PartialUpdate, Destroy],
        }
    }

    /// Whether the handler provides an action of this name.
    pub(crate) fn provides(self, action_name: &str) -> bool {
        self.actions().iter().any(|a| a.wire_name() == action_name)
    }
}

impl GenericAction {
    /// The actions of `observe`.
    pub(crate) const OBSERVE: [GenericAction; 2] =
        [GenericAction::Subscribe, GenericAction::Unsubscribe];

    /// The action's name in messages.
    pub(crate) fn wire_name(self) -> &'static str {
        match self {
            GenericAction::Create => "create",
            GenericAction::List => "list",
            GenericAction::Retrieve => "retrieve",
            GenericAction::Update => "update",
            GenericAction::PartialUpdate => "partial_update",
            GenericAction::Destroy => "destroy",
            GenericAction::Subscribe => "subscribe",
            GenericAction::Unsubscribe => "unsubscribe",
        }
    }

    /// The name of the runtime's `GenericAction` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            GenericAction::Create => "Create",
            GenericAction::List => "List",
            GenericAction::Retrieve => "Retrieve",
            GenericAction::Update => "Update",
            GenericAction::PartialUpdate => "PartialUpdate",
            GenericAction::Destroy => "Destroy",
            GenericAction::Subscribe => "Subscribe",
            GenericAction::Unsubscribe => "Unsubscribe",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_unions() {
        let names = |g: GenericHandler| {
            g.actions()
                .iter()
                .map(|a| a.wire_name())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(GenericHandler::ListCreate), ["list", "create"]);
        assert_eq!(
            names(GenericHandler::RetrieveUpdateDestroy),
            ["retrieve", "update", "partial_update", "destroy"]
        );
        for g in GenericHandler::ALL {
            assert_eq!(GenericHandler::from_name(g.name()), Some(g));
        }
        assert_eq!(GenericHandler::from_name("ListCreateAPIView"), None);
        assert!(GenericHandler::Update.provides("partial_update"));
        assert!(!GenericHandler::Update.provides("list"));
    }
}
